#include "codegen/mlir/export.h"

#include <unordered_map>

#include "codegen/mlir/internal.h"
#include "ir/printer.h"
#include "llvm/Support/raw_ostream.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

namespace kiln::codegen::mlir {

using ::mlir::Location;
using ::mlir::OpBuilder;
using ::mlir::Value;
namespace func = ::mlir::func;

namespace {

std::vector<const ir::Node*> order_of(const std::vector<ir::NodePtr>& outputs) {
  std::vector<const ir::Node*> roots;
  for (const ir::NodePtr& o : outputs) roots.push_back(o.get());
  return ir::topological_order(roots);
}

bool is_argument(const ir::Node& n) { return n.is_buffer() && !n.runtime_scalar; }

func::FuncOp build_graph(OpBuilder& b, const ExportedGraph& g) {
  std::vector<const ir::Node*> order = order_of(g.outputs);
  ::llvm::SmallVector<::mlir::Type> arguments, results;
  for (const ir::Node* n : order)
    if (is_argument(*n)) arguments.push_back(tensor_type(b, n->shape, n->dtype));
  for (const ir::NodePtr& o : g.outputs) results.push_back(tensor_type(b, o->shape, o->dtype));
  Location loc = ::mlir::NameLoc::get(b.getStringAttr(g.name));
  auto f = b.create<func::FuncOp>(loc, g.name, b.getFunctionType(arguments, results));
  OpBuilder body = OpBuilder::atBlockBegin(f.addEntryBlock());
  std::unordered_map<const ir::Node*, Value> values;
  unsigned next_argument = 0;
  for (const ir::Node* n : order) {
    if (!is_argument(*n)) {
      values[n] = lower_node(body, *n, values);
      continue;
    }
    ::mlir::BlockArgument argument = f.getArgument(next_argument++);
    argument.setLoc(location(b, *n));  // where the user made the tensor
    values[n] = argument;
  }
  ::llvm::SmallVector<Value> returned;
  for (const ir::NodePtr& o : g.outputs) returned.push_back(values.at(o.get()));
  body.create<func::ReturnOp>(loc, returned);
  return f;
}

// A flat i64 tensor of v's elements' bits: floats bitcast, integers sign- or zero-extended.
Value element_bits(OpBuilder& b, Location loc, Value v, const ir::Node& n) {
  ::mlir::Type i64 = b.getI64Type();
  Value flat = reshape(b, loc, v, {n.numel()});
  Value init = b.create<::mlir::tensor::EmptyOp>(loc, Shape{n.numel()}, i64);
  auto map = ::mlir::AffineMap::getMultiDimIdentityMap(1, b.getContext());
  auto op = b.create<::mlir::linalg::GenericOp>(
      loc, init.getType(), flat, init, ::llvm::ArrayRef<::mlir::AffineMap>{map, map},
      ::llvm::ArrayRef<::mlir::utils::IteratorType>{::mlir::utils::IteratorType::parallel},
      [&](OpBuilder& nb, Location l, ::mlir::ValueRange e) {
        Value x = e[0];
        switch (n.dtype) {
          case kFloat32:
            x = nb.create<::mlir::arith::ExtUIOp>(l, i64, nb.create<::mlir::arith::BitcastOp>(l, nb.getI32Type(), x));
            break;
          case kFloat64: x = nb.create<::mlir::arith::BitcastOp>(l, i64, x); break;
          case kInt64: break;
          case kBool:
          case kUInt8: x = nb.create<::mlir::arith::ExtUIOp>(l, i64, x); break;
          default: x = nb.create<::mlir::arith::ExtSIOp>(l, i64, x); break;
        }
        nb.create<::mlir::linalg::YieldOp>(l, x);
      });
  return op.getResult(0);
}

// @main: each graph called on its buffers' values, each output printed (ExportOptions::main).
void build_main(OpBuilder& b, const std::vector<ExportedGraph>& graphs, std::vector<func::FuncOp>& functions) {
  ::mlir::Type i64 = b.getI64Type();
  auto unranked = ::mlir::UnrankedMemRefType::get(i64, 0);
  auto print = b.create<func::FuncOp>(b.getUnknownLoc(), "printMemrefI64", b.getFunctionType({unranked}, {}));
  print.setPrivate();
  print->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  auto main = b.create<func::FuncOp>(b.getUnknownLoc(), "main", b.getFunctionType({}, {}));
  OpBuilder body = OpBuilder::atBlockBegin(main.addEntryBlock());
  for (size_t g = 0; g < graphs.size(); ++g) {
    Location loc = functions[g].getLoc();
    ::llvm::SmallVector<Value> arguments;
    for (const ir::Node* n : graph_arguments(graphs[g].outputs)) arguments.push_back(buffer_constant(body, loc, *n));
    auto call = body.create<func::CallOp>(loc, functions[g], arguments);
    for (size_t i = 0; i < graphs[g].outputs.size(); ++i) {
      const ir::Node& out = *graphs[g].outputs[i];
      Value bits = element_bits(body, loc, call.getResult(i), out);
      auto memref = ::mlir::MemRefType::get({out.numel()}, i64);
      Value buffer = body.create<::mlir::bufferization::ToMemrefOp>(loc, memref, bits);
      Value any = body.create<::mlir::memref::CastOp>(loc, unranked, buffer);
      body.create<func::CallOp>(loc, print, ::mlir::ValueRange{any});
    }
  }
  body.create<func::ReturnOp>(b.getUnknownLoc());
}

}  // namespace

std::vector<const ir::Node*> graph_arguments(const std::vector<ir::NodePtr>& outputs) {
  std::vector<const ir::Node*> arguments;
  for (const ir::Node* n : order_of(outputs))
    if (is_argument(*n)) arguments.push_back(n);
  return arguments;
}

std::string export_module(const std::vector<ExportedGraph>& graphs, const ExportOptions& options) {
  ::mlir::MLIRContext context;
  context.loadDialect<func::FuncDialect, ::mlir::arith::ArithDialect, ::mlir::math::MathDialect,
                      ::mlir::tensor::TensorDialect, ::mlir::linalg::LinalgDialect,
                      ::mlir::bufferization::BufferizationDialect, ::mlir::memref::MemRefDialect>();
  OpBuilder b(&context);
  ::mlir::OwningOpRef<::mlir::ModuleOp> module = ::mlir::ModuleOp::create(b.getUnknownLoc());
  b.setInsertionPointToEnd(module->getBody());
  std::vector<func::FuncOp> functions;
  for (const ExportedGraph& g : graphs) functions.push_back(build_graph(b, g));
  if (options.main) build_main(b, graphs, functions);

  std::string diagnostics;
  ::mlir::ScopedDiagnosticHandler handler(&context, [&](::mlir::Diagnostic& d) {
    diagnostics += d.str() + "\n";
    return ::mlir::success();
  });
  if (::mlir::failed(::mlir::verify(*module))) throw Error("export_mlir", "the MLIR verifier rejected the module: " + diagnostics, {});
  std::string text;
  ::llvm::raw_string_ostream os(text);
  ::mlir::OpPrintingFlags flags;
  flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false);
  module->print(os, flags);
  return text;
}

}  // namespace kiln::codegen::mlir
