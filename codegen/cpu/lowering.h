// The Kernel -> LLVM IR lowering's state, shared by lower.cc (analyses, function setup, index and
// value expressions, loads and stores) and loops.cc (the loop structure).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "codegen/index_range.h"
#include "codegen/cpu/internal.h"
#include "llvm/IR/DIBuilder.h"

namespace kiln::codegen::cpu {

// Throws std::invalid_argument for a kernel the lowering cannot accept.
[[noreturn]] void bad_kernel(const std::string& what);

class Lowering {
 public:
  Lowering(const Kernel& k, llvm::Module& m, const TargetInfo& t)
      : k_(k), m_(m), ctx_(m.getContext()), t_(t), b_(ctx_), i64_(llvm::Type::getInt64Ty(ctx_)) {}

  void run(const std::string& symbol);

 private:
  using Value = llvm::Value;

  // lower.cc: analyses.
  void validate();
  bool use_column_mode() const;
  void choose_switch_var();

  // lower.cc: function, expressions, memory.
  void create_function(const std::string& symbol);
  void create_debug_info(const std::string& symbol);
  void at_line_of(int value);  // the debug location of value `value`'s user line (none without one)
  void annotate(llvm::Instruction* inst, int arg);
  void push_scope();
  void pop_scope();
  Value* index(int id);
  Value* floor_div_mod(const IndexNode& n);
  Value* element_ptr(int arg, Value* idx);
  Value* load(const ValueNode& v);
  void store(const Store& s);
  Value* value(int id);
  Value* random(const ValueNode& v);  // random.cc
  Value* accumulator(int reduction);
  Value* slot(llvm::AllocaInst* storage);  // this point's element of a reduction's storage
  void start_reduction(size_t r);          // the identity (and position 0)
  void fold_reduction(size_t r);           // folds in the value at the current inner point

  // loops.cc.
  Value* extent(size_t var);  // a loop's trip count: a constant, or the runtime extent
  void emit_loop(Value* lo, Value* hi, const std::function<void(Value*)>& body, int64_t step = 1,
                 bool predicated = false);
  void emit_outer_loops();
  void run_body(Value* j0, Value* j_end);
  void switched_run_body(Value* j0, Value* j_end);
  void inner_nest(size_t axis, const std::function<void()>& body);
  void outer_point();
  void column_chunk(Value* c0, Value* count);

  const Kernel& k_;
  llvm::Module& m_;
  llvm::LLVMContext& ctx_;
  const TargetInfo& t_;
  llvm::IRBuilder<> b_;
  llvm::Type* i64_;
  llvm::Function* fn_ = nullptr;
  // Debug info, when the kernel's values have source lines: a subprogram for the kernel and a
  // lexical block per other file, so each value's instructions map to the user's line.
  std::unique_ptr<llvm::DIBuilder> di_;
  llvm::DISubprogram* subprogram_ = nullptr;
  std::map<std::string, llvm::DIScope*> file_scopes_;
  std::vector<Value*> args_, vars_;
  Value* runtime_extent_ = nullptr;  // extents[0], loaded on entry when the kernel has one
  std::vector<llvm::MDNode*> scope_md_, noalias_md_;
  std::vector<Interval> range_;
  std::vector<Interval> residual_;  // per index node: its range with the runtime variable at 0
  std::vector<int> red_dep_;  // per value: the highest reduction whose accumulator it reads, or -1
  std::vector<std::unordered_map<int, Value*>> index_cache_{1}, value_cache_{1};  // per loop scope

  // Each reduction's running value (and, for argmax/argmin, its position) lives in a stack slot
  // that is promoted to a register (row mode) or, in column mode, in an array of kChunk slots
  // indexed by the point in the chunk: column mode runs reductions over a strided inner axis for
  // a chunk of consecutive outer points at once, and that loop over the chunk is what vectorizes.
  static constexpr int64_t kChunk = 256;
  bool column_ = false;
  std::vector<llvm::AllocaInst*> running_, position_;  // per reduction; position_ null unless arg
  std::vector<bool> done_;  // per reduction: finished at this point, so its accumulator reads
  Value* chunk_point_ = nullptr;  // the point's position in its chunk, inside per-point loops

  // A leading outer variable that selects between operands one value each (a stack's axis: a
  // chain of `where`s over InRange tests of single values of it) is switched on: each of its
  // first switch_cases_ values gets a copy of the run's loop with the variable a constant, where
  // the tests fold and only the chosen operand is loaded; other values run the general loop.
  static constexpr int64_t kMaxSwitchCases = 64;
  int switch_var_ = -1;
  int64_t switch_cases_ = 0;

  static constexpr int64_t kShortRun = 32;  // runs and rows this short vectorize with a masked tail (loops.cc)
};

}  // namespace kiln::codegen::cpu
