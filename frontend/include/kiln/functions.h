// Free functions and operators of the Tensor API, named as in LibTorch (kiln:: for torch::).
#pragma once

#include <concepts>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "kiln/tensor.h"

namespace kiln {

// Factories.
Tensor zeros(IntArrayRef size, TensorOptions options = {}, Loc loc = Loc::current());
Tensor ones(IntArrayRef size, TensorOptions options = {}, Loc loc = Loc::current());
// The dtype defaults to the fill value's: bool, int64 or float32.
Tensor full(IntArrayRef size, const Scalar& fill_value, TensorOptions options = {}, Loc loc = Loc::current());
Tensor zeros_like(const Tensor& t, TensorOptions options = {}, Loc loc = Loc::current());
Tensor ones_like(const Tensor& t, TensorOptions options = {}, Loc loc = Loc::current());
Tensor full_like(const Tensor& t, const Scalar& fill_value, TensorOptions options = {}, Loc loc = Loc::current());
// int64 when every bound is integral, else float32.
Tensor arange(const Scalar& end, TensorOptions options = {}, Loc loc = Loc::current());
Tensor arange(const Scalar& start, const Scalar& end, TensorOptions options = {}, Loc loc = Loc::current());
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, TensorOptions options = {},
              Loc loc = Loc::current());
// Uniform on [0, 1) and standard normal, from a counter-based generator (Philox4x32-10): the
// same seed gives the same values on every platform and backend.
Tensor rand(IntArrayRef size, TensorOptions options = {}, Loc loc = Loc::current());
Tensor randn(IntArrayRef size, TensorOptions options = {}, Loc loc = Loc::current());
Tensor rand_like(const Tensor& t, TensorOptions options = {}, Loc loc = Loc::current());
Tensor randn_like(const Tensor& t, TensorOptions options = {}, Loc loc = Loc::current());
// 1 with probability p[i], else 0, in p's dtype (floating), as torch::bernoulli; the second form
// draws every element with probability `p` in the shape and dtype of `like`. Kiln's stream (a
// uniform draw compared with p), not PyTorch's: a mask in a graph fuses with what it multiplies.
Tensor bernoulli(const Tensor& p, Loc loc = Loc::current());
Tensor bernoulli(const Tensor& like, double p, Loc loc = Loc::current());
// LibTorch leaves empty()'s memory uninitialized; Kiln's reads as zeros.
Tensor empty(IntArrayRef size, TensorOptions options = {}, Loc loc = Loc::current());
Tensor empty_like(const Tensor& t, TensorOptions options = {}, Loc loc = Loc::current());
// Integers uniform on [low, high) (int64 unless options say otherwise).
Tensor randint(int64_t low, int64_t high, IntArrayRef size, TensorOptions options = {}, Loc loc = Loc::current());
Tensor randint(int64_t high, IntArrayRef size, TensorOptions options = {}, Loc loc = Loc::current());
// A random permutation of 0..n-1 (int64; evaluated at the call).
Tensor randperm(int64_t n, TensorOptions options = {}, Loc loc = Loc::current());
Tensor eye(int64_t n, std::optional<int64_t> m = std::nullopt, TensorOptions options = {}, Loc loc = Loc::current());
Tensor linspace(const Scalar& start, const Scalar& end, int64_t steps, TensorOptions options = {},
                Loc loc = Loc::current());
Tensor logspace(const Scalar& start, const Scalar& end, int64_t steps, double base = 10.0, TensorOptions options = {},
                Loc loc = Loc::current());
Tensor normal(double mean, double std, IntArrayRef size, TensorOptions options = {}, Loc loc = Loc::current());
Tensor normal(const Tensor& mean, const Tensor& std, Loc loc = Loc::current());
Tensor normal(const Tensor& mean, double std = 1.0, Loc loc = Loc::current());
void manual_seed(uint64_t seed);
// Wraps `data` without copying; the memory must outlive the tensor and must not change while
// graphs that read it are pending. `deleter` runs when the last user of the memory is gone.
Tensor from_blob(void* data, IntArrayRef sizes, TensorOptions options = {}, Loc loc = Loc::current());
Tensor from_blob(void* data, IntArrayRef sizes, std::function<void(void*)> deleter, TensorOptions options = {},
                 Loc loc = Loc::current());
// Strided memory (strides in elements): transposed, with a row pitch, or stepped; the tensor is a
// view of the user's memory, so in-place ops write it.
Tensor from_blob(void* data, IntArrayRef sizes, IntArrayRef strides, TensorOptions options = {}, Loc loc = Loc::current());
Tensor from_blob(void* data, IntArrayRef sizes, IntArrayRef strides, std::function<void(void*)> deleter,
                 TensorOptions options = {}, Loc loc = Loc::current());
// The values of kiln::tensor(...): a number, a braced list of them nested to any depth
// ({{1, 2}, {3, 4}}), a std::vector or an ArrayRef, as LibTorch's TensorDataContainer. The
// natural dtype is bool for bools, int64 for integers and float32 (the default dtype) as soon as
// one value is floating.
class TensorData {
 public:
  TensorData(bool v) : type_(kBool), values_{Scalar(v)} {}
  template <typename T>
    requires(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>)
  TensorData(T v) : type_(std::is_floating_point_v<T> ? kFloat32 : kInt64), values_{Scalar(v)} {}
  TensorData(std::initializer_list<TensorData> list);
  template <typename T>
    requires std::is_arithmetic_v<T>
  TensorData(const std::vector<T>& v) : TensorData(ArrayRef<T>(v)) {}
  // A flat array of a Kiln element type is copied as bytes (no per-element conversion: a vector
  // of a million floats is one memcpy), others value by value.
  template <typename T>
    requires std::is_arithmetic_v<T>
  TensorData(ArrayRef<T> v) : shape_{static_cast<int64_t>(v.size())}, type_(natural<T>()) {
    if constexpr (requires { CppType<T>::value; }) {
      raw_type_ = dtype_of<T>;
      raw_.resize(v.size() * sizeof(T));
      if (!v.empty()) std::memcpy(raw_.data(), v.data(), raw_.size());
    } else {
      for (const T& x : v) values_.push_back(Scalar(x));
    }
  }

  const Shape& shape() const { return shape_; }
  ScalarType natural_dtype() const { return type_; }

 private:
  template <typename T> static ScalarType natural() {
    return std::is_same_v<T, bool> ? kBool : std::is_floating_point_v<T> ? kFloat32 : kInt64;
  }
  std::vector<Scalar> scalars() const;  // the values, row-major, whichever way they are held
  Shape shape_;
  ScalarType type_ = kBool;
  std::vector<Scalar> values_;
  std::optional<ScalarType> raw_type_;  // set when the values are `raw_`, elements of this type
  std::vector<unsigned char> raw_;
  bool ragged_ = false;  // sublists of different shapes: tensor() rejects it
  friend Tensor tensor(const TensorData&, TensorOptions, Loc);
};

// Copies the values (LibTorch's torch::tensor): tensor(123) is int64, tensor(true) bool,
// tensor({{1.5, 2}, {3, 4}}) float32 [2, 2]; options may set the dtype.
Tensor tensor(const TensorData& values, TensorOptions options = {}, Loc loc = Loc::current());

// Elementwise and activations: one function per unary primitive (exp, log, sqrt, tanh, abs, neg,
// sin, cos, erf, floor, ceil, round, trunc: the list in ir/op.h), then the composites.
#define KILN_UNARY_FUNCTION(op, name, domain) Tensor name(const Tensor& x, Loc loc = Loc::current());
KILN_UNARY_PRIMITIVES(KILN_UNARY_FUNCTION)
#undef KILN_UNARY_FUNCTION
Tensor rsqrt(const Tensor& x, Loc loc = Loc::current());
Tensor sigmoid(const Tensor& x, Loc loc = Loc::current());
Tensor relu(const Tensor& x, Loc loc = Loc::current());
Tensor square(const Tensor& x, Loc loc = Loc::current());
// approximate: "none" (erf) or "tanh", as torch::gelu.
Tensor gelu(const Tensor& x, const std::string& approximate = "none", Loc loc = Loc::current());
Tensor pow(const Tensor& base, const Scalar& exponent, Loc loc = Loc::current());
Tensor pow(const Tensor& base, const Tensor& exponent, Loc loc = Loc::current());
Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max = std::nullopt,
             Loc loc = Loc::current());
Tensor maximum(const Tensor& a, const Tensor& b, Loc loc = Loc::current());
Tensor minimum(const Tensor& a, const Tensor& b, Loc loc = Loc::current());
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b, Loc loc = Loc::current());
Tensor where(const Tensor& condition, const Scalar& a, const Tensor& b, Loc loc = Loc::current());
Tensor where(const Tensor& condition, const Tensor& a, const Scalar& b, Loc loc = Loc::current());
Tensor clamp(const Tensor& x, const std::optional<Tensor>& min, const std::optional<Tensor>& max,
             Loc loc = Loc::current());
Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha = 1, Loc loc = Loc::current());
Tensor add(const Tensor& a, const Scalar& b, Loc loc = Loc::current());
Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha = 1, Loc loc = Loc::current());
Tensor sub(const Tensor& a, const Scalar& b, Loc loc = Loc::current());
Tensor mul(const Tensor& a, const Tensor& b, Loc loc = Loc::current());
Tensor mul(const Tensor& a, const Scalar& b, Loc loc = Loc::current());
Tensor div(const Tensor& a, const Tensor& b, Loc loc = Loc::current());
Tensor div(const Tensor& a, const Scalar& b, Loc loc = Loc::current());
Tensor isnan(const Tensor& x, Loc loc = Loc::current());
Tensor isinf(const Tensor& x, Loc loc = Loc::current());
Tensor isfinite(const Tensor& x, Loc loc = Loc::current());
Tensor sign(const Tensor& x, Loc loc = Loc::current());
Tensor isclose(const Tensor& a, const Tensor& b, double rtol = 1e-05, double atol = 1e-08, bool equal_nan = false,
               Loc loc = Loc::current());
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-05, double atol = 1e-08, bool equal_nan = false,
              Loc loc = Loc::current());
bool equal(const Tensor& a, const Tensor& b, Loc loc = Loc::current());
Tensor lerp(const Tensor& start, const Tensor& end, const Scalar& weight, Loc loc = Loc::current());
Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight, Loc loc = Loc::current());
Tensor logical_and(const Tensor& a, const Tensor& b, Loc loc = Loc::current());
Tensor logical_or(const Tensor& a, const Tensor& b, Loc loc = Loc::current());
Tensor logical_not(const Tensor& x, Loc loc = Loc::current());

// Reductions and normalizations.
Tensor sum(const Tensor& x, IntArrayRef dims = {}, bool keepdim = false, Loc loc = Loc::current());
Tensor mean(const Tensor& x, IntArrayRef dims = {}, bool keepdim = false, Loc loc = Loc::current());
Tensor prod(const Tensor& x, std::optional<ScalarType> dtype = std::nullopt, Loc loc = Loc::current());
Tensor amax(const Tensor& x, IntArrayRef dims = {}, bool keepdim = false, Loc loc = Loc::current());
Tensor amin(const Tensor& x, IntArrayRef dims = {}, bool keepdim = false, Loc loc = Loc::current());
Tensor max(const Tensor& x, Loc loc = Loc::current());
Tensor min(const Tensor& x, Loc loc = Loc::current());
std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false, Loc loc = Loc::current());
std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false, Loc loc = Loc::current());
Tensor argmax(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false,
              Loc loc = Loc::current());
Tensor argmin(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false,
              Loc loc = Loc::current());
Tensor all(const Tensor& x, Loc loc = Loc::current());
Tensor any(const Tensor& x, Loc loc = Loc::current());
Tensor norm(const Tensor& x, std::optional<Scalar> p = 2, IntArrayRef dims = {}, bool keepdim = false,
            Loc loc = Loc::current());
Tensor var(const Tensor& x, IntArrayRef dims = {}, bool unbiased = true, bool keepdim = false, Loc loc = Loc::current());
Tensor std(const Tensor& x, IntArrayRef dims = {}, bool unbiased = true, bool keepdim = false, Loc loc = Loc::current());
Tensor cumsum(const Tensor& x, int64_t dim, std::optional<ScalarType> dtype = std::nullopt, Loc loc = Loc::current());
Tensor logsumexp(const Tensor& x, IntArrayRef dims, bool keepdim = false, Loc loc = Loc::current());
Tensor softmax(const Tensor& x, int64_t dim, std::optional<ScalarType> dtype = std::nullopt,
               Loc loc = Loc::current());
Tensor log_softmax(const Tensor& x, int64_t dim, std::optional<ScalarType> dtype = std::nullopt,
                   Loc loc = Loc::current());

// Linear algebra and joining.
Tensor matmul(const Tensor& a, const Tensor& b, Loc loc = Loc::current());
Tensor mm(const Tensor& a, const Tensor& b, Loc loc = Loc::current());
Tensor bmm(const Tensor& a, const Tensor& b, Loc loc = Loc::current());
// Einstein summation for contractions ("ij,jk->ik", "bij,bjk->bik", "i,i->", "ij->ji", implicit
// output); each pair of operands becomes one matmul. No ellipsis or repeated labels in one operand.
Tensor einsum(const std::string& equation, const TensorList& operands, Loc loc = Loc::current());
Tensor outer(const Tensor& a, const Tensor& b, Loc loc = Loc::current());
Tensor addmm(const Tensor& self, const Tensor& mat1, const Tensor& mat2, const Scalar& beta = 1, const Scalar& alpha = 1,
             Loc loc = Loc::current());
Tensor cat(const TensorList& tensors, int64_t dim = 0, Loc loc = Loc::current());
Tensor stack(const TensorList& tensors, int64_t dim = 0, Loc loc = Loc::current());
// Pads (value) or crops (negative pads) pairs of dims from the last inwards: {left, right, top, bottom}.
Tensor constant_pad_nd(const Tensor& x, IntArrayRef pad, const Scalar& value = 0, Loc loc = Loc::current());

// Indexing by positions in tensors, and the data-dependent ops (see the Tensor methods).
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index, Loc loc = Loc::current());
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index, Loc loc = Loc::current());
Tensor take_along_dim(const Tensor& x, const Tensor& indices, std::optional<int64_t> dim = std::nullopt,
                      Loc loc = Loc::current());
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, Loc loc = Loc::current());
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, Loc loc = Loc::current());
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Scalar& value, Loc loc = Loc::current());
Tensor masked_select(const Tensor& x, const Tensor& mask, Loc loc = Loc::current());
Tensor nonzero(const Tensor& x, Loc loc = Loc::current());
std::tuple<Tensor, Tensor> sort(const Tensor& x, int64_t dim = -1, bool descending = false, Loc loc = Loc::current());
Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false, Loc loc = Loc::current());
std::tuple<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true,
                                Loc loc = Loc::current());

// Type promotion (torch::result_type).
ScalarType result_type(const Tensor& a, const Tensor& b);
ScalarType result_type(const Tensor& a, const Scalar& b);

// Evaluates several outputs as one graph.
void eval(const TensorList& tensors, Loc loc = Loc::current());

// The recorded graph behind the tensors, one SSA line per node (see docs/IR.md).
std::string dump_ir(const Tensor& t);
std::string dump_ir(const TensorList& tensors);

// Counters for tests and tools.
struct Stats {
  int64_t graphs_evaluated;  // evaluations that executed at least one node
  int64_t nodes_evaluated;   // nodes executed, summed
  int64_t live_nodes;        // graph nodes now alive
  int64_t live_bytes;        // bytes of tensor memory Kiln owns now
  int64_t kernels_launched;  // compiled kernels run
  int64_t kernels_compiled;  // kernels JIT-compiled (kernel cache misses)
  int64_t kernels_loaded;    // kernel cache misses read from the on-disk compile cache (KILN_CACHE_DIR)
  int64_t kernel_cache_hits;
  double compile_ms;         // JIT compile time, summed
  int64_t kernels_cached;    // compiled kernels the kernel cache holds now (KILN_KERNEL_CACHE bounds it)
  int64_t kernels_evicted;   // kernels the kernel cache dropped as least recently used
  int64_t schedules_built;   // schedule cache misses: graphs simplified, planned and lowered
  int64_t schedule_cache_hits;
  int64_t schedules_cached;  // schedules the schedule cache holds now (KILN_SCHEDULE_CACHE bounds it)
  int64_t schedules_evicted;
};
Stats stats();

// Operators. The operand wrappers carry the caller's location (see IndexArg).
struct TensorArg {
  TensorArg(const Tensor& t, Loc loc = Loc::current()) : t(t), loc(loc) {}
  const Tensor& t;
  Loc loc;
};
struct ScalarArg {
  template <typename S>
    requires std::constructible_from<Scalar, S>
  ScalarArg(S s, Loc loc = Loc::current()) : s(s), loc(loc) {}
  Scalar s;
  Loc loc;
};

#define KILN_DECLARE_BINARY_OPERATOR(op)            \
  Tensor operator op(TensorArg a, TensorArg b);     \
  Tensor operator op(TensorArg a, ScalarArg b);     \
  Tensor operator op(ScalarArg a, TensorArg b);
KILN_DECLARE_BINARY_OPERATOR(+)
KILN_DECLARE_BINARY_OPERATOR(-)
KILN_DECLARE_BINARY_OPERATOR(*)
KILN_DECLARE_BINARY_OPERATOR(/)
KILN_DECLARE_BINARY_OPERATOR(==)
KILN_DECLARE_BINARY_OPERATOR(!=)
KILN_DECLARE_BINARY_OPERATOR(<)
KILN_DECLARE_BINARY_OPERATOR(<=)
KILN_DECLARE_BINARY_OPERATOR(>)
KILN_DECLARE_BINARY_OPERATOR(>=)
#undef KILN_DECLARE_BINARY_OPERATOR
Tensor operator-(TensorArg x);
// On bool tensors: logical and, or, not.
Tensor operator&(TensorArg a, TensorArg b);
Tensor operator|(TensorArg a, TensorArg b);
Tensor operator~(TensorArg x);
Tensor& operator+=(Tensor& a, TensorArg b);
Tensor& operator+=(Tensor& a, ScalarArg b);
Tensor& operator-=(Tensor& a, TensorArg b);
Tensor& operator-=(Tensor& a, ScalarArg b);
Tensor& operator*=(Tensor& a, TensorArg b);
Tensor& operator*=(Tensor& a, ScalarArg b);
Tensor& operator/=(Tensor& a, TensorArg b);
Tensor& operator/=(Tensor& a, ScalarArg b);

}  // namespace kiln
