#include "ir/op.h"

namespace kiln::ir {

namespace {
struct OpInfo {
  std::string_view name;
  OpKind kind;
};
constexpr OpInfo kOpInfo[] = {
#define KILN_OP_INFO(name, text, kind) {text, OpKind::kind},
    KILN_PRIMITIVES(KILN_OP_INFO)
#undef KILN_OP_INFO
};
}  // namespace

std::string_view op_name(Op op) { return kOpInfo[static_cast<int>(op)].name; }
OpKind op_kind(Op op) { return kOpInfo[static_cast<int>(op)].kind; }

}  // namespace kiln::ir
