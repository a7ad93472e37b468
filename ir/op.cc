#include "ir/op.h"

namespace kiln::ir {

namespace {
struct OpInfo {
  std::string_view name;
  OpKind kind;
  UnaryDomain domain = UnaryDomain::AnyNumber;
};
constexpr OpInfo kOpInfo[] = {
#define KILN_OP_INFO(name, text, kind) {text, OpKind::kind},
#define KILN_UNARY_INFO(name, text, domain) {#text, OpKind::Unary, UnaryDomain::domain},
    KILN_SOURCE_PRIMITIVES(KILN_OP_INFO)
    KILN_UNARY_PRIMITIVES(KILN_UNARY_INFO)
    KILN_OTHER_PRIMITIVES(KILN_OP_INFO)
#undef KILN_UNARY_INFO
#undef KILN_OP_INFO
};
}  // namespace

std::string_view op_name(Op op) { return kOpInfo[static_cast<int>(op)].name; }
OpKind op_kind(Op op) { return kOpInfo[static_cast<int>(op)].kind; }
UnaryDomain unary_domain(Op op) { return kOpInfo[static_cast<int>(op)].domain; }

}  // namespace kiln::ir
