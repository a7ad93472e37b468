// Scalar operations of the kernel IR as CUDA C expressions, with the reference executor's
// semantics (ir/semantics.h), as codegen/cpu/ops.cc gives them in LLVM IR: integer add, sub, mul
// and neg wrap (computed in unsigned arithmetic, which C++ defines), float maximum and minimum
// propagate NaN, integer pow squares, integer division is made total (x / 0 gives x), casts to
// bool test for non-zero, abs(-0.0) stays -0.0. Transcendentals are CUDA's own single and double
// precision functions (the error bounds in docs/CUDA.md); kernels are compiled without FMA
// contraction, as the CPU's are.
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "codegen/cuda/internal.h"
#include "ir/semantics.h"

namespace kiln::codegen::cuda {

using ir::Op;

namespace {

bool is_float(ScalarType t) { return t == kFloat32 || t == kFloat64; }

[[noreturn]] void unsupported(Op op, ScalarType t) {
  throw std::invalid_argument("cuda backend: " + std::string(ir::op_name(op)) + " is not defined on " +
                              std::string(dtype_name(t)));
}

// The unsigned type wrapping arithmetic on `t` is done in (at least 32 bits: narrower operands
// would be promoted to int, where a product can overflow).
std::string wide_unsigned(ScalarType t) { return t == kInt64 ? "unsigned long long" : "unsigned"; }

std::string wrap(const std::string& op, ScalarType t, const std::string& a, const std::string& b) {
  std::string u = wide_unsigned(t);
  return "((" + c_type(t) + ")((" + u + ")" + a + " " + op + " (" + u + ")" + b + "))";
}

// `name` with an `f` suffix for float32 (expf, logf, ...).
std::string math(const char* name, ScalarType t, const std::string& x) {
  return std::string(name) + (t == kFloat32 ? "f" : "") + "(" + x + ")";
}

std::string unary(Op op, ScalarType t, const std::string& x) {
  if (is_float(t)) {
    switch (op) {
      case Op::Neg: return "(-" + x + ")";
      case Op::Abs: return "(" + x + " < 0 ? -" + x + " : " + x + ")";
      case Op::Exp: return math("exp", t, x);
      case Op::Log: return math("log", t, x);
      case Op::Sqrt: return math("sqrt", t, x);
      case Op::Tanh: return math("tanh", t, x);
      case Op::Erf: return math("erf", t, x);
      case Op::Sin: return math("sin", t, x);
      case Op::Cos: return math("cos", t, x);
      case Op::Floor: return math("floor", t, x);
      case Op::Ceil: return math("ceil", t, x);
      case Op::Round: return math("rint", t, x);  // halfway cases to even
      case Op::Trunc: return math("trunc", t, x);
      default: break;
    }
  } else if (t == kBool) {
    if (op == Op::Neg || op == Op::Abs) return x;  // rejected by the front end; identity
  } else {
    std::string negated = "((" + c_type(t) + ")(0 - (" + wide_unsigned(t) + ")" + x + "))";
    switch (op) {
      case Op::Neg: return negated;
      case Op::Abs: return is_unsigned(t) ? x : "(" + x + " < 0 ? " + negated + " : " + x + ")";
      default: break;
    }
  }
  unsupported(op, t);
}

std::string binary(Op op, ScalarType t, const std::string& a, const std::string& b) {
  if (is_float(t)) {
    switch (op) {
      case Op::Add: return "(" + a + " + " + b + ")";
      case Op::Sub: return "(" + a + " - " + b + ")";
      case Op::Mul: return "(" + a + " * " + b + ")";
      case Op::Div: return "(" + a + " / " + b + ")";
      case Op::Pow: return std::string(t == kFloat32 ? "powf(" : "pow(") + a + ", " + b + ")";
      case Op::Maximum: return "kiln_maximum(" + a + ", " + b + ")";
      case Op::Minimum: return "kiln_minimum(" + a + ", " + b + ")";
      default: break;
    }
  } else if (t == kBool) {
    switch (op) {
      case Op::Add:
      case Op::Maximum: return "(" + a + " || " + b + ")";
      case Op::Sub: return "(" + a + " != " + b + ")";
      case Op::Mul:
      case Op::Minimum: return "(" + a + " && " + b + ")";
      case Op::Div: return a;  // a / true; a / false is undefined
      case Op::Pow: return "(" + a + " || !" + b + ")";
      default: break;
    }
  } else {
    switch (op) {
      case Op::Add: return wrap("+", t, a, b);
      case Op::Sub: return wrap("-", t, a, b);
      case Op::Mul: return wrap("*", t, a, b);
      case Op::Div: return "kiln_idiv(" + a + ", " + b + ")";
      case Op::Pow: return "kiln_ipow(" + a + ", " + b + ")";
      case Op::Maximum: return "(" + a + " > " + b + " ? " + a + " : " + b + ")";
      case Op::Minimum: return "(" + a + " < " + b + " ? " + a + " : " + b + ")";
      default: break;
    }
  }
  unsupported(op, t);
}

std::string compare(Op op, const std::string& a, const std::string& b) {
  const char* c = nullptr;
  switch (op) {
    case Op::Eq: c = " == "; break;
    case Op::Ne: c = " != "; break;  // NaN != anything
    case Op::Lt: c = " < "; break;
    case Op::Le: c = " <= "; break;
    case Op::Gt: c = " > "; break;
    case Op::Ge: c = " >= "; break;
    default: throw std::invalid_argument("cuda backend: " + std::string(ir::op_name(op)) + " is not a comparison");
  }
  return "(" + a + c + b + ")";
}

}  // namespace

std::string c_type(ScalarType t) {
  switch (t) {
    case kBool: return "bool";
    case kUInt8: return "unsigned char";
    case kInt8: return "signed char";
    case kInt16: return "short";
    case kFloat16:
    case kBFloat16: return "unsigned short";  // the bits; kiln_f16_to_f32 and friends convert
    case kInt32: return "int";
    case kInt64: return "long long";
    case kFloat32: return "float";
    case kFloat64: break;
  }
  return "double";
}

std::string literal(const Scalar& s, ScalarType t) {
  char buf[64];
  switch (t) {
    case kBool: return s.to<bool>() ? "true" : "false";
    case kFloat32:
    case kFloat64: {
      double v = t == kFloat32 ? static_cast<double>(s.to<float>()) : s.to<double>();
      const char* suffix = t == kFloat32 ? "_F" : "";
      if (std::isnan(v)) return std::string("KILN_NAN") + suffix;
      if (std::isinf(v)) return std::string(v < 0 ? "(-KILN_INF" : "(KILN_INF") + suffix + ")";
      std::snprintf(buf, sizeof buf, "%a%s", v, t == kFloat32 ? "f" : "");  // exact
      return v < 0 ? "(" + std::string(buf) + ")" : buf;
    }
    case kFloat16:
    case kBFloat16: {
      unsigned bits = t == kFloat16 ? s.to<Half>().bits : s.to<BFloat16>().bits;
      std::snprintf(buf, sizeof buf, "((unsigned short)0x%04x)", bits);
      return buf;
    }
    case kInt64: {
      int64_t v = s.to<int64_t>();
      if (v == INT64_MIN) return "(-9223372036854775807LL - 1)";
      std::snprintf(buf, sizeof buf, "%" PRId64 "LL", v);
      return v < 0 ? "(" + std::string(buf) + ")" : buf;
    }
    default: {
      int64_t v = s.cast(t).to<int64_t>();
      if (t == kInt32 && v == INT32_MIN) return "(-2147483647 - 1)";
      std::snprintf(buf, sizeof buf, "%" PRId64, v);
      return t == kInt32 ? (v < 0 ? "(" + std::string(buf) + ")" : buf) : "((" + c_type(t) + ")" + buf + ")";
    }
  }
}

// `cast` semantics (ir/semantics.h convert); float16 and bfloat16 go through float32 with the
// preamble's bit-exact conversions.
std::string convert(const std::string& x, ScalarType from, ScalarType to) {
  if (from == to) return x;
  if (is_reduced_float(from))
    return convert(std::string(from == kFloat16 ? "kiln_f16_to_f32(" : "kiln_bf16_to_f32(") + x + ")", kFloat32, to);
  if (is_reduced_float(to))
    return std::string(to == kFloat16 ? "kiln_f32_to_f16(" : "kiln_f32_to_bf16(") + convert(x, from, kFloat32) + ")";
  if (to == kBool) return "(" + x + " != 0)";
  return "((" + c_type(to) + ")" + x + ")";
}

std::string elementwise(Op op, ScalarType result, const std::vector<std::string>& x,
                        const std::vector<ScalarType>& types) {
  auto expect = [&](size_t n) {
    if (x.size() != n || types.size() != n)
      throw std::invalid_argument("cuda backend: " + std::string(ir::op_name(op)) + " takes " + std::to_string(n) +
                                  " operands, got " + std::to_string(x.size()));
  };
  // Operands convert to the op's type, arithmetic happens in its compute_dtype (float32 for
  // float16 and bfloat16) and the result rounds back, as on the CPU.
  auto operand = [&](size_t i, ScalarType t) { return convert(convert(x[i], types[i], t), t, compute_dtype(t)); };
  ScalarType ct = compute_dtype(result);
  switch (ir::op_kind(op)) {
    case ir::OpKind::Unary:
      expect(1);
      return convert(unary(op, ct, operand(0, result)), ct, result);
    case ir::OpKind::Binary:
      expect(2);
      return convert(binary(op, ct, operand(0, result), operand(1, result)), ct, result);
    case ir::OpKind::Compare: {
      expect(2);
      ScalarType t = promote_types(types[0], types[1]);
      return convert(compare(op, operand(0, t), operand(1, t)), kBool, result);
    }
    case ir::OpKind::Select:
      expect(3);
      return "(" + convert(x[0], types[0], kBool) + " ? " + convert(x[1], types[1], result) + " : " +
             convert(x[2], types[2], result) + ")";
    case ir::OpKind::Cast:
      expect(1);
      return convert(x[0], types[0], result);
    default:
      break;
  }
  throw std::invalid_argument("cuda backend: " + std::string(ir::op_name(op)) + " is not an elementwise op");
}

std::string reduction_identity(Op op, ScalarType t) {
  if (ir::op_kind(op) != ir::OpKind::Reduce)
    throw std::invalid_argument("cuda backend: unsupported reduction " + std::string(ir::op_name(op)));
  return dispatch_dtype(t, [&]<typename T>() { return literal(Scalar(ir::reduction_identity<T>(op)), t); });
}

std::string reduction_combine(Op op, ScalarType t, const std::string& acc, const std::string& v) {
  if (t == kBool)
    return op == Op::ReduceMin || op == Op::ReduceProd ? "(" + acc + " && " + v + ")" : "(" + acc + " || " + v + ")";
  if (op == Op::ReduceSum) return binary(Op::Add, t, acc, v);
  if (op == Op::ReduceProd) return binary(Op::Mul, t, acc, v);
  return binary(op == Op::ReduceMax ? Op::Maximum : Op::Minimum, t, acc, v);
}

std::string arg_replaces(Op op, ScalarType t, const std::string& v, const std::string& best) {
  const char* beyond = op == Op::ArgMax ? " > " : " < ";
  if (!is_float(t)) return "(" + v + beyond + best + ")";
  return "(!isnan(" + best + ") && (isnan(" + v + ") || " + v + beyond + best + "))";
}

}  // namespace kiln::codegen::cuda
