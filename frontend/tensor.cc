// Tensor's accessors, conversions and the calls that force evaluation.
#include <cstring>

#include "frontend/recording.h"
#include "kiln/functions.h"
#include "ir/printer.h"
#include "frontend/evaluate.h"
#include "runtime/dump.h"
#include "runtime/stats.h"

namespace kiln {

namespace {
const ir::NodePtr& defined_node(const Tensor& t, const char* what) {
  if (!t.defined()) throw Error(what, "called on an undefined tensor", {});
  return t.impl()->node();
}
}  // namespace

const std::shared_ptr<ir::Node>& Tensor::node() const { return defined_node(*this, "node"); }

IntArrayRef Tensor::sizes() const { return defined_node(*this, "sizes")->shape; }
Shape Tensor::strides() const { return detail::impl(*this).layout().strides; }
int64_t Tensor::numel() const { return kiln::numel(sizes()); }
ScalarType Tensor::dtype() const { return defined_node(*this, "dtype")->dtype; }
Device Tensor::device() const { return detail::impl(*this).node()->device; }
TensorOptions Tensor::options() const { return TensorOptions().dtype(dtype()).device(device()); }

int64_t Tensor::size(int64_t d, Loc loc) const {
  SourceLoc l = SourceLoc::from(loc);
  detail::operand(*this, "size", l);
  check(dim() > 0, "size", l, "a 0-dim tensor has no dimensions");
  return sizes()[detail::check_dim(d, sizes(), "size", l)];
}

bool Tensor::is_contiguous() const {
  detail::Layout l = detail::impl(*this).layout();
  if (kiln::numel(l.sizes) == 0) return true;
  Shape expected = contiguous_strides(l.sizes);
  for (size_t i = 0; i < l.sizes.size(); ++i)
    if (l.sizes[i] != 1 && l.strides[i] != expected[i]) return false;
  return true;
}


namespace {
// "item() at model.cc:12": why an evaluation runs, for dumps and KILN_LOG=compile.
std::string cause(const char* call, Loc loc) { return std::string(call) + " at " + SourceLoc::from(loc).str(); }
}  // namespace

void eval(const TensorList& tensors, Loc loc) {
  runtime::EvaluationCause why(cause("eval()", loc));
  std::vector<ir::NodePtr> nodes;
  for (const Tensor& t : tensors) nodes.push_back(defined_node(t, "eval"));
  detail::evaluate(nodes);
}

const Tensor& Tensor::eval(Loc loc) const {
  kiln::eval({*this}, loc);
  return *this;
}

Scalar Tensor::item(Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  const ir::NodePtr& n = detail::operand(*this, "item", loc);
  check(n->numel() == 1, "item", loc, [&] {
    return "a tensor with " + std::to_string(n->numel()) + " elements (shape " + shape_str(n->shape) +
           ") cannot be converted to a Scalar";
  });
  if (!n->device.is_cpu()) return cpu(call).item(call);  // as LibTorch: a copy to the host
  runtime::EvaluationCause why(cause("item()", call));
  eval(call);
  return dispatch_dtype(n->dtype, [&]<typename T>() { return Scalar(n->data<T>()[0]); });
}

void Tensor::copy_to(void* dst, ScalarType as, Loc loc) const {
  if (!device().is_cpu()) return cpu(loc).copy_to(dst, as, loc);
  runtime::EvaluationCause why(cause("to_vector()", loc));
  eval(loc);
  const ir::NodePtr& n = detail::node_of(*this);
  int64_t count = n->numel();
  dispatch_dtype(n->dtype, [&]<typename From>() {
    dispatch_dtype(as, [&]<typename To>() {
      const From* src = n->data<From>();
      To* out = static_cast<To*>(dst);
      for (int64_t i = 0; i < count; ++i) out[i] = static_cast<To>(src[i]);
    });
  });
}

void* Tensor::data_ptr_checked(ScalarType expected, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "data_ptr", loc);
  check(dtype() == expected, "data_ptr", loc, [&] {
    return "expected scalar type " + std::string(dtype_name(expected)) + " but found " +
           std::string(dtype_name(dtype()));
  });
  detail::TensorImpl& self = *impl_;
  detail::TensorImpl& root = self.base ? *self.base : self;
  runtime::EvaluationCause why(cause("data_ptr()", call));
  kiln::eval({Tensor(self.base ? self.base : impl_)}, call);
  // The caller may write through the pointer: graphs recorded earlier keep their values, and
  // from now on the tensor's value lives at this address (in-place ops write it there).
  root.keep_readers_values();
  const ir::NodePtr& value = root.node_;
  value->storage->expose();
  ++root.version;  // views re-derive their values on next use
  return static_cast<char*>(value->storage->data()) +
         (self.base ? self.view_layout.offset * static_cast<int64_t>(element_size(value->dtype)) : 0);
}

Tensor Tensor::to(ScalarType t, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  const ir::NodePtr& n = detail::operand(*this, "to", loc);
  if (n->dtype == t) return *this;
  return detail::make_tensor(ir::cast(n, t, loc));
}

Tensor Tensor::to(Device d, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  const ir::NodePtr& n = detail::operand(*this, "to", loc);
  if (n->device == d) return *this;
  detail::check_device(d, "to", loc);
  // Copied now, as LibTorch's to() copies: memory the user owns may change or die as soon as to()
  // returns, a module's parameters move once rather than in every graph that reads them, and
  // batches sliced from a moved dataset are windows of its memory (no kernel per offset). Nothing
  // fuses across a transfer, so moving eagerly costs no fusion.
  ir::NodePtr moved = ir::transfer(n, d, loc);
  runtime::EvaluationCause why(cause(("to(" + d.str() + ")").c_str(), call));
  detail::evaluate({moved});
  return detail::make_tensor(std::move(moved));
}

Tensor Tensor::cpu(Loc loc) const { return to(Device(kCPU), loc); }
Tensor Tensor::cuda(Loc loc) const { return to(Device(kCUDA, 0), loc); }

Tensor Tensor::clone(Loc call) const {
  // Nodes are immutable, so sharing one is a copy; data_ptr copies on write if needed. A tensor
  // in the gradient graph gets a new node: its clone is a distinct non-leaf, as in PyTorch.
  // A value that reads the user's memory is copied now, as LibTorch's clone copies: the user may
  // change or free that memory as soon as clone() returns.
  SourceLoc loc = SourceLoc::from(call);
  const ir::NodePtr& n = detail::operand(*this, "clone", loc);
  if (n->reads_borrowed) {
    ir::NodePtr copy = ir::alias(n, loc);
    detail::evaluate({copy});  // an output that is an input buffer gets memory of its own
    return detail::make_tensor(std::move(copy));
  }
  return detail::make_tensor(n->grad == ir::Grad::None ? n : ir::alias(n, loc));
}

std::string dump_ir(const TensorList& tensors) {
  std::vector<const ir::Node*> nodes;
  for (const Tensor& t : tensors) nodes.push_back(defined_node(t, "dump_ir").get());
  return ir::print_graph(nodes);
}

std::string dump_ir(const Tensor& t) { return dump_ir(TensorList{t}); }

Stats stats() {
  const runtime::Stats& s = runtime::stats();
  return {s.graphs_evaluated,    s.nodes_evaluated,  ir::Node::live_count(), ir::Storage::live_bytes(),
          s.kernels_launched,    s.kernels_compiled, s.kernels_loaded,      s.kernel_cache_hits,   s.compile_ms,
          s.kernels_cached,      s.kernels_evicted,  s.schedules_built,     s.schedule_cache_hits,
          s.schedules_cached,    s.schedules_evicted};
}

}  // namespace kiln
