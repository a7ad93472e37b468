// kiln::Tensor: a handle to a lazily computed value. Every operation records a node of the graph
// IR; nothing is computed until a value is needed (eval, item, to_vector, data_ptr, printing).
// Names, argument orders and semantics follow LibTorch's C++ frontend.
#pragma once

#include <concepts>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <source_location>
#include <tuple>
#include <type_traits>
#include <vector>

#include "kiln/array_ref.h"
#include "kiln/tensor_options.h"
#include "ir/error.h"
#include "ir/op.h"
#include "ir/scalar.h"
#include "ir/shape.h"

namespace kiln {

namespace detail {
struct TensorImpl;
}
namespace ir {
struct Node;
}
namespace indexing {
class TensorIndex;
}

// What Tensor::grad_fn() returns: the recorded op behind a tensor.
struct GradFn {
  std::string op;  // the primitive or composite ("mul", "mean", "log_softmax")
  SourceLoc loc;   // the user's line that recorded it
  std::string name() const;  // LibTorch-style: "MulBackward0"
};

// Each public call captures the caller's source location, so errors and IR dumps name the
// user's line.
using Loc = std::source_location;

// Operators cannot take default arguments, so their operands carry the location instead: the
// converting constructor's default argument is evaluated at the user's expression.
struct IndexArg {
  IndexArg(int64_t index, Loc loc = Loc::current()) : index(index), loc(loc) {}
  int64_t index;
  Loc loc;
};

class Tensor {
 public:
  Tensor() = default;  // undefined, as a default-constructed torch::Tensor
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  // A view of the shape, valid while the tensor keeps its value (as LibTorch's sizes()).
  IntArrayRef sizes() const;
  Shape shape() const { return sizes().vec(); }
  Shape strides() const;
  int64_t dim() const { return static_cast<int64_t>(sizes().size()); }
  int64_t ndimension() const { return dim(); }
  int64_t numel() const;
  int64_t size(int64_t dim, Loc loc = Loc::current()) const;
  ScalarType dtype() const;
  ScalarType scalar_type() const { return dtype(); }
  Device device() const;
  TensorOptions options() const;
  bool is_floating_point() const { return is_floating(dtype()); }
  bool is_cuda() const { return device().is_cuda(); }
  bool is_cpu() const { return !is_cuda(); }
  bool is_contiguous() const;

  // Autograd (see kiln/autograd.h). A tensor requires grad when it is a leaf marked so, or was
  // computed from one in grad mode; only leaves and tensors that retain_grad() get .grad().
  bool requires_grad() const;
  Tensor& requires_grad_(bool requires_grad = true, Loc loc = Loc::current()) const;
  Tensor& set_requires_grad(bool requires_grad, Loc loc = Loc::current()) const {
    return requires_grad_(requires_grad, loc);
  }
  bool is_leaf() const;
  // The gradient backward() accumulated (undefined before the first backward that reaches it).
  // A handle to it, so x.grad().zero_() resets it in place.
  Tensor grad() const;
  Tensor& mutable_grad();
  void retain_grad(Loc loc = Loc::current()) const;
  // The op that computed this tensor, for a tensor gradients flow through (null for leaves and
  // tensors that do not require grad), as LibTorch's grad_fn(): name() as "MulBackward0", and
  // the user's line that recorded it.
  std::shared_ptr<GradFn> grad_fn() const;
  // Which output of its op this tensor is (0 unless the op has several outputs).
  int64_t output_nr() const { return 0; }
  bool retains_grad() const;
  // Differentiates this tensor with respect to the leaves it was computed from, accumulating into
  // their .grad() and evaluating those gradients with this tensor as one graph. `gradient` may
  // be omitted for a one-element tensor. retain_graph defaults to create_graph.
  void backward(const Tensor& gradient = {}, std::optional<bool> retain_graph = std::nullopt,
                bool create_graph = false, Loc loc = Loc::current()) const;

  // Forcing evaluation.
  const Tensor& eval(Loc loc = Loc::current()) const;
  Scalar item(Loc loc = Loc::current()) const;
  template <typename T> T item(Loc loc = Loc::current()) const { return item(loc).template to<T>(); }
  // All elements in row-major order, converted to T.
  template <typename T> std::vector<T> to_vector(Loc loc = Loc::current()) const;
  // The evaluated tensor's memory (for a view, the element at its offset in its base's memory).
  // Writes through it are seen by this tensor and the tensors that view the same memory; graphs
  // recorded earlier keep the values they were recorded with. T must be the tensor's dtype.
  template <typename T> T* data_ptr(Loc loc = Loc::current()) const {
    return static_cast<T*>(data_ptr_checked(dtype_of<T>, loc));
  }

  // Movement (views share their base: in-place ops on a view update the base, as in PyTorch).
  Tensor reshape(IntArrayRef shape, Loc loc = Loc::current()) const;
  Tensor view(IntArrayRef shape, Loc loc = Loc::current()) const;
  Tensor permute(IntArrayRef dims, Loc loc = Loc::current()) const;
  Tensor transpose(int64_t dim0, int64_t dim1, Loc loc = Loc::current()) const;
  Tensor t(Loc loc = Loc::current()) const;
  Tensor unsqueeze(int64_t dim, Loc loc = Loc::current()) const;
  Tensor squeeze(Loc loc = Loc::current()) const;
  Tensor squeeze(int64_t dim, Loc loc = Loc::current()) const;
  Tensor expand(IntArrayRef sizes, Loc loc = Loc::current()) const;
  Tensor expand_as(const Tensor& other, Loc loc = Loc::current()) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1, Loc loc = Loc::current()) const;
  Tensor slice(int64_t dim = 0, std::optional<int64_t> start = std::nullopt, std::optional<int64_t> end = std::nullopt,
               int64_t step = 1, Loc loc = Loc::current()) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length, Loc loc = Loc::current()) const;
  Tensor select(int64_t dim, int64_t index, Loc loc = Loc::current()) const;
  Tensor operator[](IndexArg i) const { return select(0, i.index, i.loc); }
  Tensor contiguous(Loc loc = Loc::current()) const;

  // Indexing (kiln/indexing.h): t.index({Slice(), 1}) is t[:, 1]. Integers, slices, None and the
  // ellipsis give views; int64 tensors pick positions and bool masks pick their true elements
  // (the mask's count is a shape, so a mask index evaluates the mask at the call).
  Tensor index(ArrayRef<indexing::TensorIndex> indices, Loc loc = Loc::current()) const;
  Tensor& index_put_(ArrayRef<indexing::TensorIndex> indices, const Tensor& value, bool accumulate = false,
                     Loc loc = Loc::current()) const;
  Tensor& index_put_(ArrayRef<indexing::TensorIndex> indices, const Scalar& value, Loc loc = Loc::current()) const;
  // Positions held in tensors stay lazy and differentiable (see frontend/indexing.cc).
  Tensor index_select(int64_t dim, const Tensor& index, Loc loc = Loc::current()) const;
  Tensor gather(int64_t dim, const Tensor& index, Loc loc = Loc::current()) const;
  Tensor take_along_dim(const Tensor& indices, std::optional<int64_t> dim = std::nullopt, Loc loc = Loc::current()) const;
  Tensor scatter(int64_t dim, const Tensor& index, const Tensor& src, Loc loc = Loc::current()) const;
  Tensor scatter(int64_t dim, const Tensor& index, const Scalar& value, Loc loc = Loc::current()) const;
  Tensor scatter_add(int64_t dim, const Tensor& index, const Tensor& src, Loc loc = Loc::current()) const;
  Tensor& scatter_(int64_t dim, const Tensor& index, const Tensor& src, Loc loc = Loc::current()) const;
  Tensor& scatter_add_(int64_t dim, const Tensor& index, const Tensor& src, Loc loc = Loc::current()) const;
  Tensor masked_fill(const Tensor& mask, const Scalar& value, Loc loc = Loc::current()) const;
  Tensor masked_fill(const Tensor& mask, const Tensor& value, Loc loc = Loc::current()) const;
  Tensor& masked_fill_(const Tensor& mask, const Scalar& value, Loc loc = Loc::current()) const;
  // Data-dependent results (docs/LAZINESS.md): these evaluate their input at the call.
  std::tuple<Tensor, Tensor> sort(int64_t dim = -1, bool descending = false, Loc loc = Loc::current()) const;
  Tensor argsort(int64_t dim = -1, bool descending = false, Loc loc = Loc::current()) const;
  std::tuple<Tensor, Tensor> topk(int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true,
                                  Loc loc = Loc::current()) const;
  Tensor nonzero(Loc loc = Loc::current()) const;
  Tensor masked_select(const Tensor& mask, Loc loc = Loc::current()) const;

  // Conversion and copies.
  Tensor to(ScalarType dtype, Loc loc = Loc::current()) const;
  // On `device`, recorded as a transfer node (the tensor itself when already there). A device
  // this machine lacks, or one without a backend in this build, is a kiln::Error at the call.
  Tensor to(Device device, Loc loc = Loc::current()) const;
  Tensor cpu(Loc loc = Loc::current()) const;
  Tensor cuda(Loc loc = Loc::current()) const;
  Tensor detach() const;
  // Detaches this tensor itself from the graph (it stops requiring grad), as LibTorch's.
  Tensor& detach_(Loc loc = Loc::current()) const;
  // The value without autograd history, as LibTorch's t.data(): shares memory and in-place
  // changes (detach()).
  Tensor data() const { return detach(); }
  // A new handle viewing the same value (its own autograd identity).
  Tensor alias(Loc loc = Loc::current()) const;
  // Replaces this tensor's value (its shape and dtype may change) keeping its identity: a leaf
  // that requires grad stays that leaf, as LibTorch's set_data (Module::to uses it).
  void set_data(const Tensor& new_data, Loc loc = Loc::current()) const;
  Tensor clone(Loc loc = Loc::current()) const;

  // Reductions. `dims` may be empty for all axes; dtype as torch.sum's.
  Tensor sum(IntArrayRef dims = {}, bool keepdim = false, std::optional<ScalarType> dtype = std::nullopt,
             Loc loc = Loc::current()) const;
  Tensor mean(IntArrayRef dims = {}, bool keepdim = false, Loc loc = Loc::current()) const;
  Tensor max(Loc loc = Loc::current()) const;
  std::tuple<Tensor, Tensor> max(int64_t dim, bool keepdim = false, Loc loc = Loc::current()) const;
  Tensor min(Loc loc = Loc::current()) const;
  std::tuple<Tensor, Tensor> min(int64_t dim, bool keepdim = false, Loc loc = Loc::current()) const;
  Tensor argmax(std::optional<int64_t> dim = std::nullopt, bool keepdim = false, Loc loc = Loc::current()) const;
  Tensor argmin(std::optional<int64_t> dim = std::nullopt, bool keepdim = false, Loc loc = Loc::current()) const;
  Tensor amax(IntArrayRef dims = {}, bool keepdim = false, Loc loc = Loc::current()) const;
  Tensor amin(IntArrayRef dims = {}, bool keepdim = false, Loc loc = Loc::current()) const;
  // bool and integer inputs multiply as int64, as torch.prod.
  Tensor prod(std::optional<ScalarType> dtype = std::nullopt, Loc loc = Loc::current()) const;
  Tensor prod(int64_t dim, bool keepdim = false, std::optional<ScalarType> dtype = std::nullopt,
              Loc loc = Loc::current()) const;
  Tensor all(Loc loc = Loc::current()) const;
  Tensor all(int64_t dim, bool keepdim = false, Loc loc = Loc::current()) const;
  Tensor any(Loc loc = Loc::current()) const;
  Tensor any(int64_t dim, bool keepdim = false, Loc loc = Loc::current()) const;
  // p: 2 (Euclidean), 1, +-inf, 0 (nonzero count) or any power; over `dims` (all when empty).
  Tensor norm(const Scalar& p = 2, Loc loc = Loc::current()) const;
  Tensor norm(std::optional<Scalar> p, IntArrayRef dims, bool keepdim = false, Loc loc = Loc::current()) const;
  // Variance and standard deviation; `correction` 1 is Bessel's (unbiased), 0 the population's.
  // var(true) and var({1}) both mean what they say (a bool only binds an actual bool).
  Tensor var(Loc loc = Loc::current()) const { return var_all(true, loc); }
  template <std::same_as<bool> B> Tensor var(B unbiased, Loc loc = Loc::current()) const { return var_all(unbiased, loc); }
  Tensor var(IntArrayRef dims, bool unbiased = true, bool keepdim = false, Loc loc = Loc::current()) const;
  Tensor var(IntArrayRef dims, std::optional<int64_t> correction, bool keepdim = false, Loc loc = Loc::current()) const;
  Tensor std(Loc loc = Loc::current()) const { return var_all(true, loc).sqrt(loc); }
  template <std::same_as<bool> B> Tensor std(B unbiased, Loc loc = Loc::current()) const {
    return var_all(unbiased, loc).sqrt(loc);
  }
  Tensor std(IntArrayRef dims, bool unbiased = true, bool keepdim = false, Loc loc = Loc::current()) const;
  Tensor std(IntArrayRef dims, std::optional<int64_t> correction, bool keepdim = false, Loc loc = Loc::current()) const;
  Tensor cumsum(int64_t dim, std::optional<ScalarType> dtype = std::nullopt, Loc loc = Loc::current()) const;
  Tensor logsumexp(IntArrayRef dims, bool keepdim = false, Loc loc = Loc::current()) const;
  Tensor softmax(int64_t dim, std::optional<ScalarType> dtype = std::nullopt, Loc loc = Loc::current()) const;
  Tensor log_softmax(int64_t dim, std::optional<ScalarType> dtype = std::nullopt, Loc loc = Loc::current()) const;

  // Elementwise. One method per unary primitive (exp, log, sqrt, tanh, abs, neg, sin, cos, erf,
  // floor, ceil, round, trunc:
  // the list in ir/op.h), then the composites.
#define KILN_UNARY_METHOD(op, name, domain) Tensor name(Loc loc = Loc::current()) const;
  KILN_UNARY_PRIMITIVES(KILN_UNARY_METHOD)
#undef KILN_UNARY_METHOD
  Tensor rsqrt(Loc loc = Loc::current()) const;
  Tensor sigmoid(Loc loc = Loc::current()) const;
  Tensor relu(Loc loc = Loc::current()) const;
  Tensor square(Loc loc = Loc::current()) const;
  Tensor pow(const Scalar& exponent, Loc loc = Loc::current()) const;
  Tensor pow(const Tensor& exponent, Loc loc = Loc::current()) const;
  Tensor add(const Tensor& other, const Scalar& alpha = 1, Loc loc = Loc::current()) const;
  Tensor add(const Scalar& other, Loc loc = Loc::current()) const;
  Tensor sub(const Tensor& other, const Scalar& alpha = 1, Loc loc = Loc::current()) const;
  Tensor sub(const Scalar& other, Loc loc = Loc::current()) const;
  Tensor mul(const Tensor& other, Loc loc = Loc::current()) const;
  Tensor mul(const Scalar& other, Loc loc = Loc::current()) const;
  Tensor div(const Tensor& other, Loc loc = Loc::current()) const;
  Tensor div(const Scalar& other, Loc loc = Loc::current()) const;
  Tensor clamp(std::optional<Scalar> min, std::optional<Scalar> max = std::nullopt, Loc loc = Loc::current()) const;
  // Tensor bounds (both given, either may be nullopt: clamp(nullopt) alone means scalar bounds).
  Tensor clamp(const std::optional<Tensor>& min, const std::optional<Tensor>& max, Loc loc = Loc::current()) const;
  Tensor isnan(Loc loc = Loc::current()) const;
  Tensor isinf(Loc loc = Loc::current()) const;
  Tensor isfinite(Loc loc = Loc::current()) const;
  Tensor sign(Loc loc = Loc::current()) const;
  Tensor lerp(const Tensor& end, const Scalar& weight, Loc loc = Loc::current()) const;
  Tensor lerp(const Tensor& end, const Tensor& weight, Loc loc = Loc::current()) const;
  // |self - other| <= atol + rtol * |other| elementwise; allclose: everywhere; equal: same shape
  // and values. allclose and equal evaluate (they return a bool).
  Tensor isclose(const Tensor& other, double rtol = 1e-05, double atol = 1e-08, bool equal_nan = false,
                 Loc loc = Loc::current()) const;
  bool allclose(const Tensor& other, double rtol = 1e-05, double atol = 1e-08, bool equal_nan = false,
                Loc loc = Loc::current()) const;
  bool equal(const Tensor& other, Loc loc = Loc::current()) const;
  Tensor eq(const Scalar& other, Loc loc = Loc::current()) const;
  Tensor ne(const Scalar& other, Loc loc = Loc::current()) const;
  Tensor lt(const Scalar& other, Loc loc = Loc::current()) const;
  Tensor le(const Scalar& other, Loc loc = Loc::current()) const;
  Tensor gt(const Scalar& other, Loc loc = Loc::current()) const;
  Tensor ge(const Scalar& other, Loc loc = Loc::current()) const;
  Tensor eq(const Tensor& other, Loc loc = Loc::current()) const;
  Tensor ne(const Tensor& other, Loc loc = Loc::current()) const;
  Tensor lt(const Tensor& other, Loc loc = Loc::current()) const;
  Tensor le(const Tensor& other, Loc loc = Loc::current()) const;
  Tensor gt(const Tensor& other, Loc loc = Loc::current()) const;
  Tensor ge(const Tensor& other, Loc loc = Loc::current()) const;
  Tensor matmul(const Tensor& other, Loc loc = Loc::current()) const;
  Tensor mm(const Tensor& other, Loc loc = Loc::current()) const;
  Tensor bmm(const Tensor& other, Loc loc = Loc::current()) const;
  Tensor outer(const Tensor& other, Loc loc = Loc::current()) const;
  // beta * self + alpha * (mat1 @ mat2).
  Tensor addmm(const Tensor& mat1, const Tensor& mat2, const Scalar& beta = 1, const Scalar& alpha = 1,
               Loc loc = Loc::current()) const;

  // In-place: the tensor is rebound to a new node; on a view, the base is updated too. Callable
  // on a const Tensor&, as LibTorch's: the handle is const, the data is not.
  Tensor& add_(const Tensor& other, const Scalar& alpha = 1, Loc loc = Loc::current()) const;
  Tensor& add_(const Scalar& other, Loc loc = Loc::current()) const;
  Tensor& sub_(const Tensor& other, const Scalar& alpha = 1, Loc loc = Loc::current()) const;
  Tensor& sub_(const Scalar& other, Loc loc = Loc::current()) const;
  Tensor& mul_(const Tensor& other, Loc loc = Loc::current()) const;
  Tensor& mul_(const Scalar& other, Loc loc = Loc::current()) const;
  Tensor& div_(const Tensor& other, Loc loc = Loc::current()) const;
  Tensor& div_(const Scalar& other, Loc loc = Loc::current()) const;
  Tensor& clamp_(std::optional<Scalar> min, std::optional<Scalar> max = std::nullopt, Loc loc = Loc::current()) const;
  Tensor& zero_(Loc loc = Loc::current()) const;
  Tensor& fill_(const Scalar& value, Loc loc = Loc::current()) const;
  Tensor& copy_(const Tensor& src, Loc loc = Loc::current()) const;

  // The graph node that computes the tensor's current value (for tools that inspect the IR).
  const std::shared_ptr<ir::Node>& node() const;

  detail::TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<detail::TensorImpl>& impl_ptr() const { return impl_; }

 private:
  void* data_ptr_checked(ScalarType expected, Loc loc) const;
  Tensor var_all(bool unbiased, Loc loc) const;
  void copy_to(void* dst, ScalarType as, Loc loc) const;  // evaluates, then writes every element as `as`
  std::shared_ptr<detail::TensorImpl> impl_;
};

template <typename T> std::vector<T> Tensor::to_vector(Loc loc) const {
  std::vector<T> out(static_cast<size_t>(numel()));
  if constexpr (std::is_same_v<T, bool>) {
    std::unique_ptr<bool[]> tmp(new bool[out.size()]);
    copy_to(tmp.get(), kBool, loc);
    for (size_t i = 0; i < out.size(); ++i) out[i] = tmp[i];
  } else {
    copy_to(out.data(), dtype_of<T>, loc);
  }
  return out;
}

using TensorList = std::vector<Tensor>;

std::ostream& operator<<(std::ostream& os, const Tensor& t);
// LibTorch's names: Float, Double, Long, Int, Short, Char, Byte, Bool.
std::ostream& operator<<(std::ostream& os, ScalarType t);

}  // namespace kiln
