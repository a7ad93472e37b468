// Kernel -> LLVM IR, part one: analyses of the kernel, the function and its arguments, and the
// index and value expressions with their loads and stores (loops.cc builds the loops around them).
//
// Every access to argument i carries alias-scope metadata saying it does not alias the other
// arguments (see cpu_backend.h for the in-place exception). Loads whose index may leave the
// argument (pad and concat read behind an InRange guard) run only when in bounds; whether an
// index may leave is decided by interval arithmetic over the index DAG.
#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "codegen/cpu/lowering.h"
#include "codegen/runtime_extent.h"
#include "llvm/IR/MDBuilder.h"

namespace kiln::codegen::cpu {

namespace {

}  // namespace

void bad_kernel(const std::string& what) { throw std::invalid_argument("llvm backend: malformed kernel: " + what); }

using llvm::Value;

void Lowering::run(const std::string& symbol) {
  validate();
  range_ = index_ranges(k_, loop_ranges(k_, kMaxRuntimeExtent));
  residual_ = residual_ranges(k_);
  create_function(symbol);
  emit_outer_loops();
  if (di_) di_->finalize();
}

// ---- analyses ---------------------------------------------------------------------------------

void Lowering::validate() {
  size_t vars = k_.outer.size() + k_.inner.size();
  for (size_t i = 0; i < k_.indices.size(); ++i) {
    const IndexNode& n = k_.indices[i];
    if (n.kind == IndexNode::Var && (n.value < 0 || size_t(n.value) >= vars)) bad_kernel("index variable out of range");
    bool binary = n.kind != IndexNode::Var && n.kind != IndexNode::Const;
    if (binary && (n.a < 0 || n.b < 0 || size_t(n.a) >= i || size_t(n.b) >= i)) bad_kernel("index operand order");
  }
  auto check_index = [&](int id) {
    if (id < 0 || size_t(id) >= k_.indices.size()) bad_kernel("index id out of range");
  };
  auto check_arg = [&](int a) {
    if (a < 0 || size_t(a) >= k_.args.size()) bad_kernel("argument out of range");
  };
  red_dep_.assign(k_.values.size(), -1);
  for (size_t i = 0; i < k_.values.size(); ++i) {
    const ValueNode& v = k_.values[i];
    for (int o : v.operands) {
      if (o < 0 || size_t(o) >= i) bad_kernel("value operand order");
      red_dep_[i] = std::max(red_dep_[i], red_dep_[o]);
    }
    if (v.kind == ValueNode::Load || v.kind == ValueNode::Random) check_arg(v.arg);
    if (v.kind == ValueNode::Random && (k_.args[v.arg].dtype != kInt64 || k_.args[v.arg].numel < 2 ||
                                        !is_floating(v.dtype)))
      bad_kernel("random values need an int64[2] {seed, offset} argument and a floating dtype");
    if (v.kind == ValueNode::Load || v.kind == ValueNode::IndexValue || v.kind == ValueNode::InRange ||
        v.kind == ValueNode::Random)
      check_index(v.index);
    if (v.kind == ValueNode::Accumulator) {
      if (v.reduction < 0 || size_t(v.reduction) >= k_.reductions.size()) bad_kernel("accumulator out of range");
      red_dep_[i] = std::max(red_dep_[i], v.reduction);
    }
  }
  for (size_t r = 0; r < k_.reductions.size(); ++r) {
    int v = k_.reductions[r].value;
    if (v < 0 || size_t(v) >= k_.values.size()) bad_kernel("reduction value out of range");
    if (ir::is_arg_reduction(k_.reductions[r].op)) check_index(k_.reductions[r].position);
    if (red_dep_[v] >= int(r)) bad_kernel("reduction reads its own or a later accumulator");
    for (const Store& s : k_.reductions[r].stores)
      if (s.value < 0 || size_t(s.value) >= k_.values.size() || red_dep_[s.value] >= int(r))
        bad_kernel("a reduction's store reads its own or a later accumulator");
  }
  std::vector<const std::vector<Store>*> all_stores = {&k_.inner_stores, &k_.outer_stores};
  for (const Reduction& r : k_.reductions) all_stores.push_back(&r.stores);
  for (const auto* stores : all_stores)
    for (const Store& s : *stores) {
      check_arg(s.arg);
      check_index(s.index);
      if (s.value < 0 || size_t(s.value) >= k_.values.size()) bad_kernel("stored value out of range");
      if (!k_.args[s.arg].output) bad_kernel("store to an input argument");
    }
  if (std::string problem = runtime_extent_problem(k_); !problem.empty()) bad_kernel(problem);
}

// Column mode pays off when the reductions read memory that is strided along the innermost
// inner axis but contiguous along the last outer axis (a sum over the first axis of a matrix):
// vectorizing across outer points then gives contiguous vector loads instead of gathers.
bool Lowering::use_column_mode() const {
  size_t rank = k_.outer.size();
  if (k_.reductions.empty() || k_.inner.empty() || rank == 0) return false;
  if (k_.outer.back() != kRuntimeExtent && k_.outer.back() < 8) return false;
  int last_outer = int(rank) - 1, last_inner = int(rank + k_.inner.size()) - 1;
  std::vector<bool> seen(k_.values.size());
  std::vector<int> stack;
  for (const Reduction& r : k_.reductions) stack.push_back(r.value);
  bool row = false, column = false;
  while (!stack.empty()) {
    int id = stack.back();
    stack.pop_back();
    if (seen[id]) continue;
    seen[id] = true;
    const ValueNode& v = k_.values[id];
    for (int o : v.operands) stack.push_back(o);
    if (v.kind != ValueNode::Load) continue;
    auto inner = affine_coefficient(k_, v.index, last_inner), outer = affine_coefficient(k_, v.index, last_outer);
    if (inner && (*inner == 1 || *inner == -1)) row = true;
    if (outer && *outer == 1 && !(inner && *inner == 0)) column = true;
  }
  return column && !row;
}

// The outer variable (not the last: that one is the vector loop) tested by the most InRange
// values that each pick a single value of it (a stack: im2col's taps, a data loader's batch),
// when there are at least two and few enough values to give each its own copy of the loop. Wider
// tests (a pad's border, a concat of blocks) stay masked loads: switching on a row of a padded
// image copied the loop per row and ran slower (col2im of the CNN: 1.9 vs 1.3 ms a step).
void Lowering::choose_switch_var() {
  size_t rank = k_.outer.size();
  if (rank < 2) return;
  std::vector<int> tests(rank - 1, 0);
  std::vector<int64_t> reach(rank - 1, 0);  // past the highest value a test selects
  for (const ValueNode& v : k_.values) {
    if (v.kind != ValueNode::InRange) continue;
    const IndexNode& at = k_.indices[v.index];
    if (at.kind != IndexNode::Var || at.value >= int64_t(rank) - 1 || v.hi - v.lo != 1) continue;
    ++tests[at.value];
    reach[at.value] = std::max(reach[at.value], v.hi);
  }
  for (size_t var = 0; var + 1 < rank; ++var) {
    int64_t cases = k_.outer[var] == kRuntimeExtent ? reach[var] : std::min(k_.outer[var], reach[var]);
    if (tests[var] >= 2 && cases <= kMaxSwitchCases && (switch_var_ < 0 || tests[var] > tests[switch_var_])) {
      switch_var_ = static_cast<int>(var);
      switch_cases_ = cases;
    }
  }
}

// ---- the function and its arguments -----------------------------------------------------------

void Lowering::create_function(const std::string& symbol) {
  auto* ptr = llvm::PointerType::get(ctx_, 0);
  auto* fty = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx_), {ptr, ptr, i64_, i64_}, false);
  fn_ = llvm::Function::Create(fty, llvm::GlobalValue::ExternalLinkage, symbol, m_);
  fn_->addFnAttr(llvm::Attribute::NoUnwind);
  fn_->addFnAttr("target-cpu", t_.cpu);
  fn_->addFnAttr("target-features", t_.features);
  if (t_.has_avx512) fn_->addFnAttr("prefer-vector-width", "512");
  fn_->addParamAttr(0, llvm::Attribute::NoCapture);
  fn_->addParamAttr(0, llvm::Attribute::ReadOnly);
  fn_->addParamAttr(0, llvm::Attribute::NoAlias);
  fn_->addParamAttr(1, llvm::Attribute::NoCapture);
  fn_->addParamAttr(1, llvm::Attribute::ReadOnly);
  create_debug_info(symbol);
  b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn_));
  if (k_.runtime_var >= 0) runtime_extent_ = b_.CreateAlignedLoad(i64_, fn_->getArg(1), llvm::Align(8), "extent");

  llvm::MDBuilder md(ctx_);
  llvm::MDNode* domain = md.createAnonymousAliasScopeDomain("kiln.args");
  std::vector<llvm::Metadata*> scopes;
  for (size_t i = 0; i < k_.args.size(); ++i)
    scopes.push_back(md.createAnonymousAliasScope(domain, "arg" + std::to_string(i)));
  for (size_t i = 0; i < k_.args.size(); ++i) {
    scope_md_.push_back(llvm::MDNode::get(ctx_, {scopes[i]}));
    std::vector<llvm::Metadata*> others;
    for (size_t j = 0; j < k_.args.size(); ++j)
      if (j != i) others.push_back(scopes[j]);
    noalias_md_.push_back(llvm::MDNode::get(ctx_, others));
    Value* slot = b_.CreateConstInBoundsGEP1_64(ptr, fn_->getArg(0), i);
    args_.push_back(b_.CreateAlignedLoad(ptr, slot, llvm::Align(8), "a" + std::to_string(i)));
  }
  column_ = use_column_mode();
  choose_switch_var();
  auto storage = [&](ScalarType t) {
    llvm::Type* ty = register_type(ctx_, t);
    return b_.CreateAlloca(column_ ? llvm::ArrayType::get(ty, kChunk) : ty);
  };
  for (const Reduction& r : k_.reductions) {
    running_.push_back(storage(compute_dtype(r.dtype)));  // float16, bfloat16: accumulated in float32
    position_.push_back(ir::is_arg_reduction(r.op) ? storage(kInt64) : nullptr);
  }
  vars_.assign(k_.outer.size() + k_.inner.size(), nullptr);
}

void Lowering::annotate(llvm::Instruction* inst, int arg) {
  inst->setMetadata(llvm::LLVMContext::MD_alias_scope, scope_md_[arg]);
  inst->setMetadata(llvm::LLVMContext::MD_noalias, noalias_md_[arg]);
}

// ---- indices and values, memoized per loop scope ------------------------------------------------

void Lowering::push_scope() {
  index_cache_.emplace_back();
  value_cache_.emplace_back();
}

void Lowering::pop_scope() {
  index_cache_.pop_back();
  value_cache_.pop_back();
}

namespace {

Value* cached(const std::vector<std::unordered_map<int, Value*>>& scopes, int id) {
  for (auto it = scopes.rbegin(); it != scopes.rend(); ++it)
    if (auto f = it->find(id); f != it->end()) return f->second;
  return nullptr;
}

}  // namespace

llvm::Value* Lowering::index(int id) {
  if (Value* v = cached(index_cache_, id)) return v;
  const IndexNode& n = k_.indices[id];
  bool nsw = range_[id].fits();
  Value* v = nullptr;
  switch (n.kind) {
    case IndexNode::Var: v = vars_[n.value]; break;
    case IndexNode::Const: v = b_.getInt64(n.value); break;
    case IndexNode::Add: v = b_.CreateAdd(index(n.a), index(n.b), "", false, nsw); break;
    case IndexNode::Mul: v = b_.CreateMul(index(n.a), index(n.b), "", false, nsw); break;
    case IndexNode::FloorDiv:
    case IndexNode::Mod: v = floor_div_mod(n); break;
  }
  if (!v) bad_kernel("index uses a loop variable outside its loop");
  index_cache_.back()[id] = v;
  return v;
}

// Non-negative operands that fit in 32 bits divide in 32 bits (vectorizable by a constant);
// otherwise 64-bit unsigned, or true floor semantics if an operand may be negative.
llvm::Value* Lowering::floor_div_mod(const IndexNode& n) {
  const Interval &x = range_[n.a], &y = range_[n.b];
  bool div = n.kind == IndexNode::FloorDiv;
  Value *a = index(n.a), *d = index(n.b);
  if (x.lo >= 0 && y.lo >= 1) {
    if (x.hi < (I128{1} << 31) && y.hi < (I128{1} << 31)) {
      auto* i32 = b_.getInt32Ty();
      Value *a32 = b_.CreateTrunc(a, i32), *d32 = b_.CreateTrunc(d, i32);
      return b_.CreateZExt(div ? b_.CreateUDiv(a32, d32) : b_.CreateURem(a32, d32), i64_);
    }
    return div ? b_.CreateUDiv(a, d) : b_.CreateURem(a, d);
  }
  Value* q = b_.CreateSDiv(a, d);
  Value* r = b_.CreateSRem(a, d);
  Value* zero = b_.getInt64(0);
  Value* fix = b_.CreateAnd(b_.CreateICmpNE(r, zero), b_.CreateICmpNE(b_.CreateICmpSLT(r, zero), b_.CreateICmpSLT(d, zero)));
  return div ? b_.CreateSub(q, b_.CreateZExt(fix, i64_)) : b_.CreateSelect(fix, b_.CreateAdd(r, d), r);
}

llvm::Value* Lowering::element_ptr(int arg, Value* idx) {
  return b_.CreateInBoundsGEP(memory_type(ctx_, k_.args[arg].dtype), args_[arg], idx);
}

// A load whose index may leave the argument (behind an InRange guard, for pad and concat) is
// executed only when in bounds, else gives 0: the vectorizer turns it into a masked load with
// the address still affine (clamping the index instead would force a gather).
llvm::Value* Lowering::load(const ValueNode& v) {
  ScalarType t = k_.args[v.arg].dtype;
  llvm::Type* mt = memory_type(ctx_, t);
  Value* idx = index(v.index);
  const Interval& r = range_[v.index];
  const Arg& arg = k_.args[v.arg];
  int64_t numel = arg.numel;
  auto emit = [&] {
    auto* ld = b_.CreateAlignedLoad(mt, element_ptr(v.arg, idx), llvm::Align(element_size(t)));
    annotate(ld, v.arg);
    return ld;
  };
  const Interval& unit = arg.scaled ? residual_[v.index] : r;  // scaled: c * extent + r (runtime_extent.h)
  Value* x;
  if (unit.lo >= 0 && unit.hi < numel) {
    x = emit();
  } else {
    Value* bound = arg.scaled ? b_.CreateNSWMul(b_.getInt64(numel), runtime_extent_) : b_.getInt64(numel);
    Value* in = b_.CreateAnd(b_.CreateICmpSGE(idx, b_.getInt64(0)), b_.CreateICmpSLT(idx, bound));
    llvm::BasicBlock* pre = b_.GetInsertBlock();
    auto* then = llvm::BasicBlock::Create(ctx_, "load.in", fn_);
    auto* merge = llvm::BasicBlock::Create(ctx_, "load.merge", fn_);
    b_.CreateCondBr(in, then, merge);
    b_.SetInsertPoint(then);
    Value* loaded = emit();
    b_.CreateBr(merge);
    b_.SetInsertPoint(merge);
    llvm::PHINode* phi = b_.CreatePHI(mt, 2);
    phi->addIncoming(loaded, then);
    phi->addIncoming(llvm::Constant::getNullValue(mt), pre);
    x = phi;
  }
  if (t == kBool) x = b_.CreateICmpNE(x, b_.getInt8(0));
  return emit_convert(b_, x, t, v.dtype);
}

void Lowering::store(const Store& s) {
  ScalarType t = k_.args[s.arg].dtype;
  Value* x = emit_convert(b_, value(s.value), k_.values[s.value].dtype, t);
  if (t == kBool) x = b_.CreateZExt(x, b_.getInt8Ty());
  auto* st = b_.CreateAlignedStore(x, element_ptr(s.arg, index(s.index)), llvm::Align(element_size(t)));
  annotate(st, s.arg);
}

// ---- source lines -------------------------------------------------------------------------------

void Lowering::create_debug_info(const std::string& symbol) {
  auto first = std::find_if(k_.locs.begin(), k_.locs.end(), [](const SourceLoc& l) { return l.line > 0; });
  if (first == k_.locs.end()) return;
  di_ = std::make_unique<llvm::DIBuilder>(m_);
  llvm::DIFile* file = di_->createFile(first->file, "");
  di_->createCompileUnit(llvm::dwarf::DW_LANG_C_plus_plus, file, "kiln", /*isOptimized=*/true, "", 0);
  subprogram_ = di_->createFunction(file, symbol, symbol, file, first->line,
                                    di_->createSubroutineType(di_->getOrCreateTypeArray({})), first->line,
                                    llvm::DINode::FlagZero,
                                    llvm::DISubprogram::SPFlagDefinition | llvm::DISubprogram::SPFlagOptimized);
  fn_->setSubprogram(subprogram_);
  file_scopes_[first->file] = subprogram_;
  if (!m_.getModuleFlag("Debug Info Version"))
    m_.addModuleFlag(llvm::Module::Warning, "Debug Info Version", llvm::DEBUG_METADATA_VERSION);
}

void Lowering::at_line_of(int value) {
  if (!subprogram_) return;
  SourceLoc l = static_cast<size_t>(value) < k_.locs.size() ? k_.locs[value] : SourceLoc{};
  if (l.line <= 0) {
    b_.SetCurrentDebugLocation(llvm::DebugLoc());
    return;
  }
  llvm::DIScope*& scope = file_scopes_[l.file];
  if (!scope) scope = di_->createLexicalBlockFile(subprogram_, di_->createFile(l.file, ""));
  b_.SetCurrentDebugLocation(llvm::DILocation::get(ctx_, l.line, 0, scope));
}

llvm::Value* Lowering::value(int id) {
  if (Value* v = cached(value_cache_, id)) return v;
  const ValueNode& n = k_.values[id];
  llvm::DebugLoc outer_loc = b_.getCurrentDebugLocation();  // the reader's, restored below
  if (n.kind != ValueNode::Elementwise) at_line_of(id);
  Value* v = nullptr;
  switch (n.kind) {
    case ValueNode::Load: v = load(n); break;
    case ValueNode::Constant: v = constant_of(ctx_, n.constant, n.dtype); break;
    case ValueNode::IndexValue: v = emit_convert(b_, index(n.index), kInt64, n.dtype); break;
    case ValueNode::InRange: {
      Value* i = index(n.index);
      Value* in = b_.CreateAnd(b_.CreateICmpSGE(i, b_.getInt64(n.lo)), b_.CreateICmpSLT(i, b_.getInt64(n.hi)));
      v = emit_convert(b_, in, kBool, n.dtype);
      break;
    }
    case ValueNode::Accumulator: {
      // Rounded once from the running type to the reduction's (float32 -> float16, say).
      ScalarType t = accumulator_dtype(k_.reductions[n.reduction]);
      v = emit_convert(b_, emit_convert(b_, accumulator(n.reduction), compute_dtype(t), t), t, n.dtype);
      break;
    }
    case ValueNode::Random: v = random(n); break;
    case ValueNode::Elementwise: {
      if (n.op == ir::Op::Where) {  // a condition known here (a switched variable's test) picks one side
        if (auto* c = llvm::dyn_cast<llvm::ConstantInt>(value(n.operands[0]))) {
          int side = n.operands[c->isZero() ? 2 : 1];
          v = emit_convert(b_, value(side), k_.values[side].dtype, n.dtype);
          break;
        }
      }
      std::vector<Value*> xs;
      std::vector<ScalarType> ts;
      for (int o : n.operands) {
        xs.push_back(value(o));
        ts.push_back(k_.values[o].dtype);
      }
      at_line_of(id);  // after the operands, which set their own
      v = emit_elementwise(b_, n.op, n.dtype, std::move(xs), ts, t_);
      break;
    }
  }
  b_.SetCurrentDebugLocation(outer_loc);
  value_cache_.back()[id] = v;
  return v;
}

// A reduction's result at the current outer point (argmax/argmin: the position).
llvm::Value* Lowering::accumulator(int r) {
  if (!done_[r]) bad_kernel("accumulator read before its reduction ran");
  llvm::AllocaInst* storage = position_[r] ? position_[r] : running_[r];
  return b_.CreateLoad(register_type(ctx_, compute_dtype(accumulator_dtype(k_.reductions[r]))), slot(storage),
                       "acc" + std::to_string(r));
}

void lower_kernel(const Kernel& k, const std::string& symbol, llvm::Module& m, const TargetInfo& t) {
  Lowering(k, m, t).run(symbol);
}

}  // namespace kiln::codegen::cpu
