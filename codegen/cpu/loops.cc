// Kernel -> LLVM IR, part two: the loops. The function computes outer points [begin, end) of the
// flattened row-major outer space as runs along the last outer axis: the leading coordinates are
// derived once per run (a division by the last extent, then by the others), so the loop over the
// last axis is a plain counted loop with affine addresses, which the loop vectorizer widens.
//
// A run of at most kShortRun points (a row of 13 pooled outputs), and an innermost inner row of
// 8 to kShortRun points (a conv's 26-wide bias-gradient rows), vectorize with a masked tail
// rather than a scalar remainder loop that would do most of the work, and are not fully
// unrolled first (LLVM would then vectorize the loop around them, with gathers). LLVM still
// unrolls smaller inner spaces (a 2x2 window) itself, leaving the run loop to vectorize.
//
// Row mode (the default): at each outer point, reductions run in groups (consecutive reductions
// that do not read each other's accumulator share one loop nest over the inner space, innermost
// inner axis innermost, so a row reduction is the vectorized loop), then the inner stores run in
// their own loop nest, then the outer stores.
//
// Column mode (reductions whose loads are strided along the inner axis but contiguous along the
// last outer axis, e.g. a sum over the first axis): a run is cut into chunks of up to kChunk
// points, and every loop nest of row mode gets an innermost loop over the chunk's points, with
// the accumulators in per-reduction stack arrays; that innermost loop is what vectorizes.
#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "codegen/cpu/lowering.h"

namespace kiln::codegen::cpu {

using llvm::Value;

// for (i = lo; i < hi; i += step) body(i), in rotated form; the builder ends in the exit block.
void Lowering::emit_loop(Value* lo, Value* hi, const std::function<void(Value*)>& body, int64_t step, bool predicated) {
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
  Value* next = b_.CreateAdd(i, b_.getInt64(step), "i.next", /*HasNUW=*/true, /*HasNSW=*/true);
  i->addIncoming(next, b_.GetInsertBlock());
  llvm::BranchInst* latch = b_.CreateCondBr(b_.CreateICmpSLT(next, hi), loop, exit);
  if (predicated) {  // vectorized with a masked tail, and not unrolled first (that would leave the outer loop)
    llvm::Metadata* predicate[] = {llvm::MDString::get(ctx_, "llvm.loop.vectorize.predicate.enable"),
                                   llvm::ConstantAsMetadata::get(b_.getTrue())};
    llvm::Metadata* ops[] = {nullptr, llvm::MDNode::get(ctx_, predicate),
                             llvm::MDNode::get(ctx_, {llvm::MDString::get(ctx_, "llvm.loop.unroll.disable")})};
    llvm::MDNode* md = llvm::MDNode::getDistinct(ctx_, ops);
    md->replaceOperandWith(0, md);
    latch->setMetadata(llvm::LLVMContext::MD_loop, md);
  }
  b_.SetInsertPoint(exit);
}

llvm::Value* Lowering::extent(size_t var) {
  size_t rank = k_.outer.size();
  int64_t e = var < rank ? k_.outer[var] : k_.inner[var - rank];
  return e == kRuntimeExtent ? runtime_extent_ : b_.getInt64(e);
}

void Lowering::emit_outer_loops() {
  Value* begin = fn_->getArg(2);
  Value* end = fn_->getArg(3);
  size_t rank = k_.outer.size();
  if (std::find(k_.outer.begin(), k_.outer.end(), 0) != k_.outer.end()) {  // no points at any extent
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
    run_body(begin, end);
  } else {
    // Runs along the last axis: p = lead * L + j0, run = [j0, j0 + min(L - j0, end - p)).
    Value* L = extent(rank - 1);
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
      Value* e = extent(d);
      vars_[d] = b_.CreateURem(lead, e);
      lead = b_.CreateUDiv(lead, e);
    }
    vars_[0] = lead;
    Value* n = b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b_.CreateNSWSub(L, j0), b_.CreateNSWSub(end, p));
    push_scope();
    switched_run_body(j0, b_.CreateNSWAdd(j0, n, "j.end"));
    pop_scope();
    Value* next = b_.CreateNSWAdd(p, n, "p.next");
    p->addIncoming(next, b_.GetInsertBlock());
    b_.CreateCondBr(b_.CreateICmpSLT(next, end), run, exit);
    b_.SetInsertPoint(exit);
  }
  b_.CreateRetVoid();
}

// Points [j0, j_end) along the last outer axis, the leading coordinates being set.
void Lowering::run_body(Value* j0, Value* j_end) {
  size_t last = k_.outer.size() - 1;
  if (!column_) {
    int64_t run = k_.outer.back();
    emit_loop(
        j0, j_end,
        [&](Value* j) {
          vars_[last] = j;
          outer_point();
        },
        1, run != kRuntimeExtent && run <= kShortRun);
  } else {
    emit_loop(
        j0, j_end,
        [&](Value* c0) {
          Value* left = b_.CreateNSWSub(j_end, c0);
          column_chunk(c0, b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, left, b_.getInt64(kChunk)));
        },
        kChunk);
  }
  vars_[last] = nullptr;
}

// run_body, once per case of the switched variable (with the variable a constant) and once in
// general for the values past the cases.
void Lowering::switched_run_body(Value* j0, Value* j_end) {
  if (switch_var_ < 0) return run_body(j0, j_end);
  Value* selector = vars_[switch_var_];
  auto* general = llvm::BasicBlock::Create(ctx_, "switch.general", fn_);
  auto* done = llvm::BasicBlock::Create(ctx_, "switch.done", fn_);
  llvm::SwitchInst* cases = b_.CreateSwitch(selector, general, static_cast<unsigned>(switch_cases_));
  auto body = [&](llvm::BasicBlock* block, Value* var) {
    b_.SetInsertPoint(block);
    vars_[switch_var_] = var;
    push_scope();
    run_body(j0, j_end);
    pop_scope();
    b_.CreateBr(done);
  };
  for (int64_t c = 0; c < switch_cases_; ++c) {
    auto* block = llvm::BasicBlock::Create(ctx_, "switch.case", fn_);
    cases->addCase(b_.getInt64(c), block);
    body(block, b_.getInt64(c));
  }
  body(general, selector);
  b_.SetInsertPoint(done);
  vars_[switch_var_] = selector;
}

// Loop nest over inner axes [axis, rank); body at each inner point.
void Lowering::inner_nest(size_t axis, const std::function<void()>& body) {
  if (axis == k_.inner.size()) return body();
  size_t var = k_.outer.size() + axis;
  int64_t e = k_.inner[axis];
  bool short_row = axis + 1 == k_.inner.size() && !column_ && e != kRuntimeExtent && e >= 8 && e <= kShortRun;
  emit_loop(
      b_.getInt64(0), extent(var),
      [&](Value* i) {
        vars_[var] = i;
        inner_nest(axis + 1, body);
      },
      1, short_row);
  vars_[var] = nullptr;  // out of scope after the loop
}

void Lowering::outer_point() {
  done_.assign(k_.reductions.size(), false);
  for (auto [start, stop] : codegen::reduction_groups(k_)) {
    for (size_t r = start; r < stop; ++r) start_reduction(r);
    inner_nest(0, [&] {
      for (size_t r = start; r < stop; ++r) fold_reduction(r);
    });
    for (size_t r = start; r < stop; ++r) done_[r] = true;
  }
  if (!k_.inner_stores.empty())
    inner_nest(0, [&] {
      for (const Store& s : k_.inner_stores) store(s);
    });
  for (const Store& s : k_.outer_stores) store(s);
}

// Column mode: the points [c0, c0 + count) of a run, count <= kChunk.
void Lowering::column_chunk(Value* c0, Value* count) {
  size_t last = k_.outer.size() - 1;
  auto per_point = [&](const std::function<void()>& body) {
    emit_loop(b_.getInt64(0), count, [&](Value* jj) {
      chunk_point_ = jj;
      vars_[last] = b_.CreateAdd(c0, jj, "j", /*HasNUW=*/true, /*HasNSW=*/true);
      body();
    });
    chunk_point_ = nullptr;
    vars_[last] = nullptr;
  };
  done_.assign(k_.reductions.size(), false);
  for (auto [start, stop] : codegen::reduction_groups(k_)) {
    per_point([&] {
      for (size_t r = start; r < stop; ++r) start_reduction(r);
    });
    inner_nest(0, [&] {
      per_point([&] {
        for (size_t r = start; r < stop; ++r) fold_reduction(r);
      });
    });
    for (size_t r = start; r < stop; ++r) done_[r] = true;
  }
  if (!k_.inner_stores.empty())
    inner_nest(0, [&] {
      per_point([&] {
        for (const Store& s : k_.inner_stores) store(s);
      });
    });
  if (!k_.outer_stores.empty())
    per_point([&] {
      for (const Store& s : k_.outer_stores) store(s);
    });
}

llvm::Value* Lowering::slot(llvm::AllocaInst* storage) {
  if (!column_) return storage;
  if (!chunk_point_) bad_kernel("a reduction's storage used outside a chunk's point loop");
  return b_.CreateInBoundsGEP(storage->getAllocatedType(), storage, {b_.getInt64(0), chunk_point_});
}

void Lowering::start_reduction(size_t r) {
  const Reduction& red = k_.reductions[r];
  b_.CreateStore(reduction_identity(ctx_, red.op, compute_dtype(red.dtype)), slot(running_[r]));
  if (position_[r]) b_.CreateStore(b_.getInt64(0), slot(position_[r]));
}

void Lowering::fold_reduction(size_t r) {
  const Reduction& red = k_.reductions[r];
  for (const Store& s : red.stores) store(s);
  // The running value is in compute_dtype: float16 and bfloat16 accumulate in float32.
  ScalarType t = compute_dtype(red.dtype);
  Value* v = emit_convert(b_, value(red.value), k_.values[red.value].dtype, red.dtype);
  v = emit_convert(b_, v, red.dtype, t);
  Value* at = slot(running_[r]);
  Value* best = b_.CreateLoad(register_type(ctx_, t), at);
  if (!position_[r]) {
    b_.CreateStore(emit_combine(b_, red.op, t, best, v), at);
    return;
  }
  Value* replace = emit_arg_replaces(b_, red.op, t, v, best);
  b_.CreateStore(b_.CreateSelect(replace, v, best), at);
  Value* where = slot(position_[r]);
  b_.CreateStore(b_.CreateSelect(replace, index(red.position), b_.CreateLoad(i64_, where)), where);
}

}  // namespace kiln::codegen::cpu
