// Kernel -> LLVM IR. The function computes outer points [begin, end) of the flattened row-major
// outer space as runs along the last outer axis: the leading coordinates are derived once per
// run (a division by the last extent, then by the others), so the innermost loop over the last
// axis is a plain counted loop with affine addresses, which the loop vectorizer widens. At each
// outer point, reductions run in groups (consecutive reductions that do not read each other's
// accumulator share one loop nest over the inner space, innermost inner axis innermost), then
// the inner stores run in their own loop nest, then the outer stores.
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

#include "codegen/llvm/internal.h"
#include "llvm/IR/MDBuilder.h"

namespace kiln::codegen::cpu {

namespace {

using llvm::Value;
using I128 = __int128;

constexpr I128 kBig = I128{1} << 62;  // intervals saturate here: "unknown"

struct Interval {
  I128 lo, hi;
  bool fits() const { return lo > -kBig && hi < kBig; }
};

I128 sat(I128 v) { return std::clamp(v, -kBig, kBig); }

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument("llvm backend: malformed kernel: " + what); }

class Lowering {
 public:
  Lowering(const Kernel& k, llvm::Module& m, const TargetInfo& t)
      : k_(k), m_(m), ctx_(m.getContext()), t_(t), b_(ctx_), i64_(llvm::Type::getInt64Ty(ctx_)) {}

  void run(const std::string& symbol) {
    validate();
    compute_ranges();
    create_function(symbol);
    emit_outer_loops();
  }

 private:
  // ---- checks and analyses ------------------------------------------------------------------
  void validate() {
    size_t vars = k_.outer.size() + k_.inner.size();
    for (size_t i = 0; i < k_.indices.size(); ++i) {
      const IndexNode& n = k_.indices[i];
      if (n.kind == IndexNode::Var && (n.value < 0 || size_t(n.value) >= vars)) bad("index variable out of range");
      bool binary = n.kind != IndexNode::Var && n.kind != IndexNode::Const;
      if (binary && (n.a < 0 || n.b < 0 || size_t(n.a) >= i || size_t(n.b) >= i)) bad("index operand order");
    }
    auto check_index = [&](int id) {
      if (id < 0 || size_t(id) >= k_.indices.size()) bad("index id out of range");
    };
    auto check_arg = [&](int a) {
      if (a < 0 || size_t(a) >= k_.args.size()) bad("argument out of range");
    };
    red_dep_.assign(k_.values.size(), -1);
    for (size_t i = 0; i < k_.values.size(); ++i) {
      const ValueNode& v = k_.values[i];
      for (int o : v.operands) {
        if (o < 0 || size_t(o) >= i) bad("value operand order");
        red_dep_[i] = std::max(red_dep_[i], red_dep_[o]);
      }
      if (v.kind == ValueNode::Load) check_arg(v.arg);
      if (v.kind == ValueNode::Load || v.kind == ValueNode::IndexValue || v.kind == ValueNode::InRange)
        check_index(v.index);
      if (v.kind == ValueNode::Accumulator) {
        if (v.reduction < 0 || size_t(v.reduction) >= k_.reductions.size()) bad("accumulator out of range");
        red_dep_[i] = std::max(red_dep_[i], v.reduction);
      }
    }
    for (size_t r = 0; r < k_.reductions.size(); ++r) {
      int v = k_.reductions[r].value;
      if (v < 0 || size_t(v) >= k_.values.size()) bad("reduction value out of range");
      if (red_dep_[v] >= int(r)) bad("reduction reads its own or a later accumulator");
    }
    for (const auto* stores : {&k_.inner_stores, &k_.outer_stores})
      for (const Store& s : *stores) {
        check_arg(s.arg);
        check_index(s.index);
        if (s.value < 0 || size_t(s.value) >= k_.values.size()) bad("stored value out of range");
        if (!k_.args[s.arg].output) bad("store to an input argument");
      }
  }

  void compute_ranges() {
    auto extent = [&](int64_t var) {
      size_t r = k_.outer.size();
      return size_t(var) < r ? k_.outer[var] : k_.inner[var - r];
    };
    range_.resize(k_.indices.size());
    for (size_t i = 0; i < k_.indices.size(); ++i) {
      const IndexNode& n = k_.indices[i];
      Interval& r = range_[i];
      switch (n.kind) {
        case IndexNode::Var: r = {0, std::max<I128>(0, extent(n.value) - 1)}; break;
        case IndexNode::Const: r = {sat(n.value), sat(n.value)}; break;
        case IndexNode::Add: r = {sat(range_[n.a].lo + range_[n.b].lo), sat(range_[n.a].hi + range_[n.b].hi)}; break;
        case IndexNode::Mul: {
          const Interval &x = range_[n.a], &y = range_[n.b];
          I128 p[] = {x.lo * y.lo, x.lo * y.hi, x.hi * y.lo, x.hi * y.hi};
          r = {sat(*std::min_element(p, p + 4)), sat(*std::max_element(p, p + 4))};
          break;
        }
        case IndexNode::FloorDiv: {
          const Interval &x = range_[n.a], &y = range_[n.b];
          if (x.lo >= 0 && y.lo >= 1) r = {x.lo / y.hi, x.hi / y.lo};
          else r = {-kBig, kBig};
          break;
        }
        case IndexNode::Mod: {
          const Interval &x = range_[n.a], &y = range_[n.b];
          if (x.lo >= 0 && y.lo >= 1) r = {0, std::min(x.hi, y.hi - 1)};
          else r = {-kBig, kBig};
          break;
        }
      }
    }
  }

  // ---- function and argument setup ------------------------------------------------------------
  void create_function(const std::string& symbol) {
    auto* ptr = llvm::PointerType::get(ctx_, 0);
    auto* fty = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx_), {ptr, i64_, i64_}, false);
    fn_ = llvm::Function::Create(fty, llvm::GlobalValue::ExternalLinkage, symbol, m_);
    fn_->addFnAttr(llvm::Attribute::NoUnwind);
    fn_->addFnAttr("target-cpu", t_.cpu);
    fn_->addFnAttr("target-features", t_.features);
    if (t_.has_avx512) fn_->addFnAttr("prefer-vector-width", "512");
    fn_->addParamAttr(0, llvm::Attribute::NoCapture);
    fn_->addParamAttr(0, llvm::Attribute::ReadOnly);
    fn_->addParamAttr(0, llvm::Attribute::NoAlias);
    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn_));
    entry_ = b_.GetInsertBlock();

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
    for (const Reduction& r : k_.reductions)
      acc_slot_.push_back(b_.CreateAlloca(register_type(ctx_, r.dtype)));
    vars_.assign(k_.outer.size() + k_.inner.size(), nullptr);
  }

  void annotate(llvm::Instruction* inst, int arg) {
    inst->setMetadata(llvm::LLVMContext::MD_alias_scope, scope_md_[arg]);
    inst->setMetadata(llvm::LLVMContext::MD_noalias, noalias_md_[arg]);
  }

  // ---- loops ----------------------------------------------------------------------------------
  // for (i = lo; i < hi; ++i) body(i), in rotated form; the builder ends in the exit block.
  void emit_loop(Value* lo, Value* hi, const std::function<void(Value*)>& body) {
    llvm::BasicBlock* pre = b_.GetInsertBlock();
    auto* loop = llvm::BasicBlock::Create(ctx_, "loop", fn_);
    auto* exit = llvm::BasicBlock::Create(ctx_, "loop.exit", fn_);
    b_.CreateCondBr(b_.CreateICmpSLT(lo, hi), loop, exit);
    b_.SetInsertPoint(loop);
    llvm::PHINode* i = b_.CreatePHI(i64_, 2, "i");
    i->addIncoming(lo, pre);
    push_scope();
    body(i);
    pop_scope();
    Value* next = b_.CreateAdd(i, b_.getInt64(1), "i.next", /*HasNUW=*/true, /*HasNSW=*/true);
    i->addIncoming(next, b_.GetInsertBlock());
    b_.CreateCondBr(b_.CreateICmpSLT(next, hi), loop, exit);
    b_.SetInsertPoint(exit);
  }

  void emit_outer_loops() {
    Value* begin = fn_->getArg(1);
    Value* end = fn_->getArg(2);
    size_t rank = k_.outer.size();
    if (numel(k_.outer) == 0) {
      b_.CreateRetVoid();
      return;
    }
    if (rank == 0) {
      auto* body = llvm::BasicBlock::Create(ctx_, "point", fn_);
      auto* exit = llvm::BasicBlock::Create(ctx_, "exit", fn_);
      b_.CreateCondBr(b_.CreateICmpSLT(begin, end), body, exit);
      b_.SetInsertPoint(body);
      outer_point();
      b_.CreateBr(exit);
      b_.SetInsertPoint(exit);
    } else if (rank == 1) {
      emit_loop(begin, end, [&](Value* j) {
        vars_[0] = j;
        outer_point();
      });
    } else {
      // Runs along the last axis: p = lead * L + j0, run = [j0, j0 + min(L - j0, end - p)).
      int64_t last = k_.outer.back();
      Value* L = b_.getInt64(last);
      llvm::BasicBlock* pre = b_.GetInsertBlock();
      auto* run = llvm::BasicBlock::Create(ctx_, "run", fn_);
      auto* exit = llvm::BasicBlock::Create(ctx_, "exit", fn_);
      b_.CreateCondBr(b_.CreateICmpSLT(begin, end), run, exit);
      b_.SetInsertPoint(run);
      llvm::PHINode* p = b_.CreatePHI(i64_, 2, "p");
      p->addIncoming(begin, pre);
      Value* lead = b_.CreateUDiv(p, L, "lead");
      Value* j0 = b_.CreateNUWSub(p, b_.CreateNUWMul(lead, L), "j0");
      for (size_t d = rank - 2; d > 0; --d) {
        Value* extent = b_.getInt64(k_.outer[d]);
        vars_[d] = b_.CreateURem(lead, extent);
        lead = b_.CreateUDiv(lead, extent);
      }
      vars_[0] = lead;
      Value* n = b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b_.CreateNSWSub(L, j0), b_.CreateNSWSub(end, p));
      push_scope();
      emit_loop(j0, b_.CreateNSWAdd(j0, n, "j.end"), [&](Value* j) {
        vars_[rank - 1] = j;
        outer_point();
      });
      pop_scope();
      Value* next = b_.CreateNSWAdd(p, n, "p.next");
      p->addIncoming(next, b_.GetInsertBlock());
      b_.CreateCondBr(b_.CreateICmpSLT(next, end), run, exit);
      b_.SetInsertPoint(exit);
    }
    b_.CreateRetVoid();
  }

  // Loop nest over inner axes [axis, rank); body at each inner point.
  void inner_nest(size_t axis, const std::function<void()>& body) {
    if (axis == k_.inner.size()) return body();
    size_t var = k_.outer.size() + axis;
    emit_loop(b_.getInt64(0), b_.getInt64(k_.inner[axis]), [&](Value* i) {
      vars_[var] = i;
      inner_nest(axis + 1, body);
    });
    vars_[var] = nullptr;  // out of scope after the loop
  }

  void outer_point() {
    acc_.assign(k_.reductions.size(), nullptr);
    for (size_t start = 0; start < k_.reductions.size();) {
      size_t stop = start + 1;  // a group ends before the first reduction reading one of its accumulators
      while (stop < k_.reductions.size() && red_dep_[k_.reductions[stop].value] < int(start)) ++stop;
      reduction_group(start, stop);
      start = stop;
    }
    if (!k_.inner_stores.empty())
      inner_nest(0, [&] {
        for (const Store& s : k_.inner_stores) store(s);
      });
    for (const Store& s : k_.outer_stores) store(s);
  }

  void reduction_group(size_t start, size_t stop) {
    for (size_t r = start; r < stop; ++r)
      b_.CreateStore(reduction_identity(ctx_, k_.reductions[r].op, k_.reductions[r].dtype), acc_slot_[r]);
    inner_nest(0, [&] {
      for (size_t r = start; r < stop; ++r) {
        const Reduction& red = k_.reductions[r];
        Value* v = emit_convert(b_, value(red.value), k_.values[red.value].dtype, red.dtype);
        Value* acc = b_.CreateLoad(register_type(ctx_, red.dtype), acc_slot_[r]);
        b_.CreateStore(emit_combine(b_, red.op, red.dtype, acc, v), acc_slot_[r]);
      }
    });
    for (size_t r = start; r < stop; ++r)
      acc_[r] = b_.CreateLoad(register_type(ctx_, k_.reductions[r].dtype), acc_slot_[r], "acc" + std::to_string(r));
  }

  // ---- indices and values, memoized per loop scope ----------------------------------------------
  void push_scope() {
    index_cache_.emplace_back();
    value_cache_.emplace_back();
  }
  void pop_scope() {
    index_cache_.pop_back();
    value_cache_.pop_back();
  }
  static Value* find(const std::vector<std::unordered_map<int, Value*>>& scopes, int id) {
    for (auto it = scopes.rbegin(); it != scopes.rend(); ++it)
      if (auto f = it->find(id); f != it->end()) return f->second;
    return nullptr;
  }

  Value* index(int id) {
    if (Value* v = find(index_cache_, id)) return v;
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
    if (!v) bad("index uses a loop variable outside its loop");
    index_cache_.back()[id] = v;
    return v;
  }

  // Non-negative operands that fit in 32 bits divide in 32 bits (vectorizable by a constant);
  // otherwise 64-bit unsigned, or true floor semantics if an operand may be negative.
  Value* floor_div_mod(const IndexNode& n) {
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

  Value* element_ptr(int arg, Value* idx) {
    return b_.CreateInBoundsGEP(memory_type(ctx_, k_.args[arg].dtype), args_[arg], idx);
  }

  // A load whose index may leave the argument (behind an InRange guard, for pad and concat) is
  // executed only when in bounds, else gives 0: the vectorizer turns it into a masked load with
  // the address still affine (clamping the index instead would force a gather).
  Value* load(const ValueNode& v) {
    ScalarType t = k_.args[v.arg].dtype;
    llvm::Type* mt = memory_type(ctx_, t);
    Value* idx = index(v.index);
    const Interval& r = range_[v.index];
    int64_t numel = k_.args[v.arg].numel;
    auto emit = [&] {
      auto* ld = b_.CreateAlignedLoad(mt, element_ptr(v.arg, idx), llvm::Align(element_size(t)));
      annotate(ld, v.arg);
      return ld;
    };
    Value* x;
    if (r.lo >= 0 && r.hi < numel) {
      x = emit();
    } else {
      Value* in = b_.CreateAnd(b_.CreateICmpSGE(idx, b_.getInt64(0)), b_.CreateICmpSLT(idx, b_.getInt64(numel)));
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

  void store(const Store& s) {
    ScalarType t = k_.args[s.arg].dtype;
    Value* x = emit_convert(b_, value(s.value), k_.values[s.value].dtype, t);
    if (t == kBool) x = b_.CreateZExt(x, b_.getInt8Ty());
    auto* st = b_.CreateAlignedStore(x, element_ptr(s.arg, index(s.index)), llvm::Align(element_size(t)));
    annotate(st, s.arg);
  }

  Value* value(int id) {
    if (Value* v = find(value_cache_, id)) return v;
    const ValueNode& n = k_.values[id];
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
      case ValueNode::Accumulator:
        if (!acc_[n.reduction]) bad("accumulator read before its reduction ran");
        v = emit_convert(b_, acc_[n.reduction], k_.reductions[n.reduction].dtype, n.dtype);
        break;
      case ValueNode::Elementwise: {
        std::vector<Value*> xs;
        std::vector<ScalarType> ts;
        for (int o : n.operands) {
          xs.push_back(value(o));
          ts.push_back(k_.values[o].dtype);
        }
        v = emit_elementwise(b_, n.op, n.dtype, std::move(xs), ts, t_);
        break;
      }
    }
    value_cache_.back()[id] = v;
    return v;
  }

  const Kernel& k_;
  llvm::Module& m_;
  llvm::LLVMContext& ctx_;
  const TargetInfo& t_;
  llvm::IRBuilder<> b_;
  llvm::Type* i64_;
  llvm::Function* fn_ = nullptr;
  llvm::BasicBlock* entry_ = nullptr;
  std::vector<Value*> args_, vars_, acc_;
  std::vector<llvm::AllocaInst*> acc_slot_;
  std::vector<llvm::MDNode*> scope_md_, noalias_md_;
  std::vector<Interval> range_;
  std::vector<int> red_dep_;  // per value: the highest reduction whose accumulator it reads, or -1
  std::vector<std::unordered_map<int, Value*>> index_cache_{1}, value_cache_{1};
};

}  // namespace

void lower_kernel(const Kernel& k, const std::string& symbol, llvm::Module& m, const TargetInfo& t) {
  Lowering(k, m, t).run(symbol);
}

}  // namespace kiln::codegen::cpu
