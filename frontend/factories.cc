// Tensor factories and the random generator's state.
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <utility>

#include "frontend/recording.h"
#include "kiln/functions.h"

namespace kiln {

namespace {

// The generator: a seed and a counter that each random tensor advances, so consecutive calls
// draw disjoint Philox streams. Threads share it (as LibTorch's default CPU generator), under a
// lock.
struct Generator {
  std::mutex mu;
  uint64_t seed = 67280421310721ULL;  // PyTorch's default seed
  uint64_t offset = 0;

  void reset(uint64_t s) {
    std::lock_guard<std::mutex> lock(mu);
    seed = s;
    offset = 0;
  }
  std::pair<uint64_t, uint64_t> next() {  // (seed, offset) of a new random tensor
    std::lock_guard<std::mutex> lock(mu);
    return {seed, offset++};
  }
};
Generator& generator() {
  static Generator* g = new Generator();  // never destroyed: static destructors may draw
  return *g;
}

// Applies the options' requires_grad, which PyTorch allows on floating tensors only.
Tensor with_grad_option(Tensor t, const TensorOptions& options, const char* op, SourceLoc loc) {
  check(!options.requires_grad() || is_floating(t.dtype()), op, loc, [&] {
    return "only tensors of floating point dtype can require gradients, got " + detail::describe(t);
  });
  if (options.requires_grad()) detail::impl(t).set_requires_grad(true);
  return t;
}

Shape checked_size(IntArrayRef size, const char* op, SourceLoc loc) {
  for (int64_t d : size)
    check(d >= 0, op, loc, [&] { return "negative dimension " + std::to_string(d) + " in size " + shape_str(size); });
  return Shape(size.begin(), size.end());
}

Tensor filled(IntArrayRef size, const Scalar& value, ScalarType t, const TensorOptions& options, const char* op,
              SourceLoc loc) {
  detail::check_device(options.device(), op, loc);
  Tensor out = detail::make_tensor(detail::constant(value, checked_size(size, op, loc), t, loc, options.device()));
  return with_grad_option(std::move(out), options, op, loc);
}

Tensor random(ir::Distribution d, IntArrayRef size, const TensorOptions& options, const char* op, SourceLoc loc) {
  detail::check_device(options.device(), op, loc);
  ScalarType t = options.dtype();
  check(is_floating(t), op, loc, [&] { return "is not implemented for dtype " + std::string(dtype_name(t)); });
  Shape shape = checked_size(size, op, loc);
  auto [seed, offset] = generator().next();
  Tensor out = detail::make_tensor(ir::random(d, seed, offset, std::move(shape), t, loc, options.device()));
  return with_grad_option(std::move(out), options, op, loc);
}

}  // namespace

Tensor zeros(IntArrayRef size, TensorOptions o, Loc loc) {
  return filled(size, 0, o.dtype(), o, "zeros", SourceLoc::from(loc));
}
Tensor ones(IntArrayRef size, TensorOptions o, Loc loc) {
  return filled(size, 1, o.dtype(), o, "ones", SourceLoc::from(loc));
}
Tensor full(IntArrayRef size, const Scalar& value, TensorOptions o, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  ScalarType t = o.has_dtype() ? o.dtype() : value.type() == kFloat64 ? get_default_dtype() : value.type();
  detail::check_device(o.device(), "full", loc);
  // The user's value (a fill_, a schedule's constant) is a runtime input, as in scalar operands.
  Shape shape = checked_size(size, "full", loc);
  ir::NodePtr n = detail::scalar_input(value, shape, t, loc, o.device());
  // A runtime scalar stays in host memory on every device (kernels take it by value); where it is
  // the tensor itself (one element), the tensor's value is a copy on the device.
  if (n->is_buffer() && !o.device().is_cpu())
    n = ir::transfer(detail::scalar_input(value, shape, t, loc, Device(kCPU)), o.device(), loc);
  Tensor out = detail::make_tensor(std::move(n));
  return with_grad_option(std::move(out), o, "full", loc);
}

namespace {
TensorOptions like(const Tensor& t, TensorOptions o, const char* op, SourceLoc loc) {
  detail::operand(t, op, loc);
  TensorOptions out = o.has_dtype() ? o : o.dtype(t.dtype());
  return out.device(t.device());
}
}  // namespace

Tensor zeros_like(const Tensor& t, TensorOptions o, Loc loc) {
  return zeros(t.sizes(), like(t, o, "zeros_like", SourceLoc::from(loc)), loc);
}
Tensor ones_like(const Tensor& t, TensorOptions o, Loc loc) {
  return ones(t.sizes(), like(t, o, "ones_like", SourceLoc::from(loc)), loc);
}
Tensor full_like(const Tensor& t, const Scalar& value, TensorOptions o, Loc loc) {
  return full(t.sizes(), value, like(t, o, "full_like", SourceLoc::from(loc)), loc);
}
Tensor rand_like(const Tensor& t, TensorOptions o, Loc loc) {
  return rand(t.sizes(), like(t, o, "rand_like", SourceLoc::from(loc)), loc);
}
Tensor bernoulli(const Tensor& p, Loc loc) {
  SourceLoc l = SourceLoc::from(loc);
  check(is_floating(p.dtype()), "bernoulli", l, [&] { return "expects floating probabilities, got " + detail::describe(p); });
  return (rand_like(p, {}, loc) < p).to(p.dtype(), loc);
}

Tensor bernoulli(const Tensor& like, double p, Loc loc) {
  SourceLoc l = SourceLoc::from(loc);
  check(is_floating(like.dtype()), "bernoulli", l, [&] { return "expects a floating tensor, got " + detail::describe(like); });
  check(p >= 0 && p <= 1, "bernoulli", l, [&] { return "p must be in [0, 1], got " + std::to_string(p); });
  return (rand_like(like, {}, loc) < p).to(like.dtype(), loc);
}

Tensor randn_like(const Tensor& t, TensorOptions o, Loc loc) {
  return randn(t.sizes(), like(t, o, "randn_like", SourceLoc::from(loc)), loc);
}

Tensor arange(const Scalar& end, TensorOptions o, Loc loc) { return arange(0, end, 1, o, loc); }
Tensor arange(const Scalar& start, const Scalar& end, TensorOptions o, Loc loc) {
  return arange(start, end, 1, o, loc);
}
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, TensorOptions o, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  detail::check_device(o.device(), "arange", loc);
  double s = start.to_double(), e = end.to_double(), d = step.to_double();
  check(d != 0, "arange", loc, "step must be nonzero");
  check(std::isfinite(s) && std::isfinite(e), "arange", loc, "unsupported range: bounds must be finite");
  check((d > 0 && e >= s) || (d < 0 && e <= s), "arange", loc, [&] {
    return "upper bound and larger bound inconsistent with step sign (start " + start.str() + ", end " + end.str() +
           ", step " + step.str() + ")";
  });
  bool integral = !start.is_floating_point() && !end.is_floating_point() && !step.is_floating_point();
  ScalarType t = o.has_dtype() ? o.dtype() : integral ? kInt64 : get_default_dtype();
  int64_t n = integral ? (end.to_long() - start.to_long() + step.to_long() - (d > 0 ? 1 : -1)) / step.to_long()
                       : static_cast<int64_t>(std::ceil((e - s) / d));
  Tensor out = detail::make_tensor(ir::iota(start, step, {n}, t, loc, o.device()));
  return with_grad_option(std::move(out), o, "arange", loc);
}

Tensor rand(IntArrayRef size, TensorOptions o, Loc loc) {
  return random(ir::Distribution::Uniform, size, o, "rand", SourceLoc::from(loc));
}
Tensor randn(IntArrayRef size, TensorOptions o, Loc loc) {
  return random(ir::Distribution::Normal, size, o, "randn", SourceLoc::from(loc));
}

// Uninitialized memory in LibTorch; here a lazy zero (reading it gives 0, which is as valid).
Tensor empty(IntArrayRef size, TensorOptions o, Loc loc) { return filled(size, 0, o.dtype(), o, "empty", SourceLoc::from(loc)); }
Tensor empty_like(const Tensor& t, TensorOptions o, Loc loc) {
  return empty(t.sizes(), like(t, o, "empty_like", SourceLoc::from(loc)), loc);
}

// Integers uniform on [low, high): floor(low + u * (high - low)) of a uniform draw in float64.
Tensor randint(int64_t low, int64_t high, IntArrayRef size, TensorOptions o, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  check(low < high, "randint", loc, [&] {
    return "random_ expects 'from' to be less than 'to', but got from=" + std::to_string(low) + " >= to=" +
           std::to_string(high);
  });
  Tensor u = rand(size, dtype(kFloat64), call);
  Tensor v = u.mul(static_cast<double>(high - low), call).floor(call).add(static_cast<double>(low), call);
  return v.clamp(static_cast<double>(low), static_cast<double>(high - 1), call).to(o.has_dtype() ? o.dtype() : kInt64, call);
}
Tensor randint(int64_t high, IntArrayRef size, TensorOptions o, Loc loc) { return randint(0, high, size, o, loc); }

// A random permutation of 0..n-1: the order of n uniform draws (evaluated at the call).
Tensor randperm(int64_t n, TensorOptions o, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  check(n >= 0, "randperm", loc, [&] { return "n must be non-negative, got " + std::to_string(n); });
  Tensor order = rand({n}, dtype(kFloat64), call).argsort(0, false, call);
  return o.has_dtype() ? order.to(o.dtype(), call) : order;
}

Tensor eye(int64_t n, std::optional<int64_t> m, TensorOptions o, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  int64_t cols = m.value_or(n);
  check(n >= 0 && cols >= 0, "eye", loc, [&] { return "n and m must be non-negative, got " + std::to_string(n) + " and " + std::to_string(cols); });
  detail::check_device(o.device(), "eye", loc);
  ir::NodePtr rows = ir::expand(ir::reshape(ir::iota(0, 1, {n}, kInt64, loc, o.device()), {n, 1}, loc), {n, cols}, loc);
  ir::NodePtr columns = ir::expand(ir::reshape(ir::iota(0, 1, {cols}, kInt64, loc, o.device()), {1, cols}, loc), {n, cols}, loc);
  Tensor out = detail::make_tensor(detail::cast_to(ir::binary(ir::Op::Eq, rows, columns, loc), o.dtype(), loc));
  return with_grad_option(std::move(out), o, "eye", loc);
}

// start + i * (end - start) / (steps - 1), the last one exactly `end`, as torch.linspace.
Tensor linspace(const Scalar& start, const Scalar& end, int64_t steps, TensorOptions o, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  check(steps >= 0, "linspace", loc, [&] { return "number of steps must be non-negative, got " + std::to_string(steps); });
  double a = start.to_double(), b = end.to_double();
  double step = steps > 1 ? (b - a) / static_cast<double>(steps - 1) : 0.0;
  // PyTorch fills the second half backwards from `end`, so both ends are exact.
  Tensor i = arange(steps, dtype(kFloat64), call);
  Tensor forward = i.mul(step, call).add(a, call);
  Tensor backward = i.sub(static_cast<double>(steps - 1), call).mul(step, call).add(b, call);
  Tensor out = steps == 1 ? forward : kiln::where(i.lt(static_cast<double>(steps / 2), call), forward, backward, call);
  return with_grad_option(out.to(o.dtype(), call), o, "linspace", loc);
}

Tensor logspace(const Scalar& start, const Scalar& end, int64_t steps, double base, TensorOptions o, Loc call) {
  Tensor exponent = linspace(start, end, steps, dtype(kFloat64), call);
  return full({}, base, dtype(kFloat64), call).pow(exponent, call).to(o.dtype(), call);
}

// mean + std * N(0, 1), with tensor or scalar parameters.
Tensor normal(double mean, double std, IntArrayRef size, TensorOptions o, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  check(std >= 0, "normal", loc, [&] { return "expects std >= 0.0, but found std " + std::to_string(std); });
  return randn(size, o, call).mul(std, call).add(mean, call);
}
Tensor normal(const Tensor& mean, const Tensor& std, Loc call) {
  Shape shape = detail::broadcast_all({mean.sizes().vec(), std.sizes().vec()}, "normal", SourceLoc::from(call));
  return randn(shape, dtype(mean.dtype()), call).mul(std, call).add(mean, 1, call);
}
Tensor normal(const Tensor& mean, double std, Loc call) {
  return randn(mean.sizes(), dtype(mean.dtype()), call).mul(std, call).add(mean, 1, call);
}

void manual_seed(uint64_t seed) { generator().reset(seed); }

namespace {
std::atomic<ScalarType> g_default_dtype{kFloat32};
}  // namespace
void set_default_dtype(ScalarType t, Loc loc) {
  check(is_floating(t), "set_default_dtype", SourceLoc::from(loc), [&] {
    return "only floating-point types are supported as the default type, got " + std::string(dtype_name(t));
  });
  g_default_dtype = t;
}
ScalarType get_default_dtype() { return g_default_dtype.load(std::memory_order_relaxed); }

Tensor from_blob(void* data, IntArrayRef sizes, TensorOptions o, Loc loc) { return from_blob(data, sizes, std::function<void(void*)>(), o, loc); }

Tensor from_blob(void* data, IntArrayRef sizes, std::function<void(void*)> deleter, TensorOptions o, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  detail::check_device(o.device(), "from_blob", loc);
  check(o.device().is_cpu(), "from_blob", loc, [&] {
    return "wraps host memory here; for " + o.device().str() + ", wrap it on the CPU and call .to(" + o.device().str() +
           ")";
  });
  check(data != nullptr || numel(Shape(sizes.begin(), sizes.end())) == 0, "from_blob", loc, "data is null");
  Shape shape = checked_size(sizes, "from_blob", loc);
  size_t bytes = static_cast<size_t>(numel(shape)) * element_size(o.dtype());
  ir::NodePtr n = ir::buffer(ir::Storage::borrow(data, bytes, std::move(deleter)), std::move(shape), o.dtype(), loc, o.device());
  Tensor out = detail::make_tensor(std::move(n));
  return with_grad_option(std::move(out), o, "from_blob", loc);
}

// Strided memory as LibTorch's from_blob(data, sizes, strides): the dims sorted by stride are a
// contiguous block whose rows may be longer than the view (a pitch), read through slices, a
// permute and, for stride 0, an expand; the tensor views the user's memory like any from_blob.
Tensor from_blob(void* data, IntArrayRef sizes, IntArrayRef strides, std::function<void(void*)> deleter,
                 TensorOptions o, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  check(sizes.size() == strides.size(), "from_blob", loc, [&] {
    return "sizes " + shape_str(sizes) + " and strides " + shape_str(strides) + " must have the same length";
  });
  Shape size = checked_size(sizes, "from_blob", loc);
  std::vector<size_t> order;  // the dims that advance in memory, by stride descending
  for (size_t d = 0; d < size.size(); ++d) {
    check(strides[d] >= 0, "from_blob", loc, [&] { return "negative strides are not supported: " + shape_str(strides); });
    if (strides[d] > 0 && size[d] > 1) order.push_back(d);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return strides[a] > strides[b]; });
  // The block: one axis per advancing dim, of extent stride(prev) / stride(this), then the step.
  Shape block, stops;
  for (size_t k = 0; k < order.size(); ++k) {
    int64_t stride = strides[order[k]];
    int64_t extent = k == 0 ? size[order[k]] : strides[order[k - 1]] / stride;
    bool fits = k == 0 || (strides[order[k - 1]] % stride == 0 && size[order[k]] <= extent);
    check(fits, "from_blob", loc, [&] {
      return "strides " + shape_str(strides) + " for sizes " + shape_str(size) +
             " overlap or interleave; Kiln views strided memory whose dims nest (transposes, row pitches, steps)";
    });
    block.push_back(extent);
    stops.push_back(size[order[k]]);
  }
  if (numel(size) == 0) return from_blob(data, size, std::move(deleter), o, call);  // no element to place
  int64_t step = order.empty() ? 1 : strides[order.back()];
  block.push_back(step);  // the innermost step: read element 0 of each
  stops.push_back(1);
  Tensor memory = from_blob(data, block, std::move(deleter), o, call);
  Tensor view = memory;
  for (size_t k = 0; k < stops.size(); ++k) view = view.slice(static_cast<int64_t>(k), 0, stops[k], 1, call);
  view = view.select(static_cast<int64_t>(stops.size()) - 1, 0, call);
  // Dims of size 1 or stride 0 come back as new axes, then the permute restores the order.
  std::vector<int64_t> shape_in_order;
  for (size_t d : order) shape_in_order.push_back(size[d]);
  std::vector<int64_t> position(size.size(), -1);
  for (size_t k = 0; k < order.size(); ++k) position[order[k]] = static_cast<int64_t>(k);
  int64_t next = static_cast<int64_t>(order.size());
  for (size_t d = 0; d < size.size(); ++d)
    if (position[d] < 0) {
      view = view.unsqueeze(-1, call);
      position[d] = next++;
    }
  view = view.permute(position, call);
  return size == view.sizes().vec() ? view : view.expand(size, call);
}
Tensor from_blob(void* data, IntArrayRef sizes, IntArrayRef strides, TensorOptions o, Loc loc) {
  return from_blob(data, sizes, strides, std::function<void(void*)>(), o, loc);
}

TensorData::TensorData(std::initializer_list<TensorData> list) {
  shape_ = {static_cast<int64_t>(list.size())};
  if (list.size() == 0) type_ = kFloat32;  // torch.tensor([]) is float (the default dtype)
  std::optional<Shape> inner;
  for (const TensorData& item : list) {
    ragged_ |= item.ragged_ || (inner && *inner != item.shape_);
    if (!inner) inner = item.shape_;
    type_ = std::max(type_, item.type_);  // bool < int64 < float32
    std::vector<Scalar> values = item.scalars();
    values_.insert(values_.end(), values.begin(), values.end());
  }
  if (inner) shape_.insert(shape_.end(), inner->begin(), inner->end());
}

std::vector<Scalar> TensorData::scalars() const {
  if (!raw_type_) return values_;
  return dispatch_dtype(*raw_type_, [&]<typename T>() {
    std::vector<Scalar> out(raw_.size() / sizeof(T));
    for (size_t i = 0; i < out.size(); ++i) {
      T x;
      std::memcpy(&x, raw_.data() + i * sizeof(T), sizeof(T));
      out[i] = Scalar(x);
    }
    return out;
  });
}

Tensor tensor(const TensorData& data, TensorOptions o, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  check(!data.ragged_, "tensor", loc, "expected a regular nested list: sublists of one level must have one shape");
  detail::check_device(o.device(), "tensor", loc);
  ScalarType t = o.has_dtype() ? o.dtype() : data.type_ == kFloat32 ? get_default_dtype() : data.type_;
  ir::NodePtr n;
  if (data.raw_type_) {  // the bytes as they came, then one cast (evaluated with the first use)
    auto storage = ir::Storage::allocate(data.raw_.size());
    if (!data.raw_.empty()) std::memcpy(storage->data(), data.raw_.data(), data.raw_.size());
    n = detail::cast_to(ir::buffer(std::move(storage), data.shape_, *data.raw_type_, loc, Device(kCPU)), t, loc);
  } else {
    const std::vector<Scalar>& v = data.values_;
    auto storage = ir::Storage::allocate(v.size() * element_size(t));
    dispatch_dtype(t, [&]<typename T>() {
      T* out = static_cast<T*>(storage->data());
      for (size_t i = 0; i < v.size(); ++i) out[i] = v[i].to<T>();
    });
    n = ir::buffer(std::move(storage), data.shape_, t, loc, Device(kCPU));
  }
  n = ir::transfer(std::move(n), o.device(), loc);  // the values are the host's: copied to the device
  return with_grad_option(detail::make_tensor(std::move(n)), o, "tensor", loc);
}

}  // namespace kiln
