// Layers with LibTorch's options classes and public members: Linear, Dropout, Flatten, the
// activations, Sequential and Functional. Each is an Impl class plus its KILN_MODULE holder.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kiln/nn/functional.h"
#include "kiln/nn/module.h"

namespace kiln::nn {

struct LinearOptions {
  LinearOptions(int64_t in_features, int64_t out_features) : in_features_(in_features), out_features_(out_features) {}
  LinearOptions& bias(bool b) { bias_ = b; return *this; }
  int64_t in_features_, out_features_;
  bool bias_ = true;
};

// y = x W^T + b; W [out, in] and b [out] start as PyTorch's (Kaiming-uniform, bound 1/sqrt(in)).
class LinearImpl : public Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features) : LinearImpl(LinearOptions(in_features, out_features)) {}
  explicit LinearImpl(const LinearOptions& options);
  Tensor forward(const Tensor& input, Loc loc = Loc::current());
  void reset_parameters();
  void pretty_print(std::ostream& os) const override;

  LinearOptions options;
  Tensor weight, bias;
};
KILN_MODULE(Linear);

struct DropoutOptions {
  DropoutOptions(double p = 0.5) : p_(p) {}
  DropoutOptions& p(double v) { p_ = v; return *this; }
  double p_;
};
// In training, zeroes elements with probability p and scales the rest by 1 / (1 - p); the
// identity in eval mode.
class DropoutImpl : public Module {
 public:
  explicit DropoutImpl(const DropoutOptions& options = {});
  Tensor forward(const Tensor& input, Loc loc = Loc::current());
  void pretty_print(std::ostream& os) const override;
  DropoutOptions options;
};
KILN_MODULE(Dropout);

struct FlattenOptions {
  FlattenOptions& start_dim(int64_t d) { start_dim_ = d; return *this; }
  FlattenOptions& end_dim(int64_t d) { end_dim_ = d; return *this; }
  int64_t start_dim_ = 1, end_dim_ = -1;
};
class FlattenImpl : public Module {
 public:
  explicit FlattenImpl(const FlattenOptions& options = {});
  Tensor forward(const Tensor& input, Loc loc = Loc::current());
  void pretty_print(std::ostream& os) const override;
  FlattenOptions options;
};
KILN_MODULE(Flatten);

struct LayerNormOptions {
  LayerNormOptions(std::vector<int64_t> normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}
  LayerNormOptions& eps(double e) { eps_ = e; return *this; }
  LayerNormOptions& elementwise_affine(bool a) { elementwise_affine_ = a; return *this; }
  std::vector<int64_t> normalized_shape_;
  double eps_ = 1e-5;
  bool elementwise_affine_ = true;
};
// Normalizes the trailing dims; weight starts at 1 and bias at 0, as PyTorch's.
class LayerNormImpl : public Module {
 public:
  explicit LayerNormImpl(const LayerNormOptions& options);
  Tensor forward(const Tensor& input, Loc loc = Loc::current());
  void pretty_print(std::ostream& os) const override;
  LayerNormOptions options;
  Tensor weight, bias;
};
KILN_MODULE(LayerNorm);

struct EmbeddingOptions {
  EmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  int64_t num_embeddings_, embedding_dim_;
};
// A table of num_embeddings rows (N(0, 1) at first, as PyTorch's) looked up by position.
class EmbeddingImpl : public Module {
 public:
  EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim)
      : EmbeddingImpl(EmbeddingOptions(num_embeddings, embedding_dim)) {}
  explicit EmbeddingImpl(const EmbeddingOptions& options);
  Tensor forward(const Tensor& input, Loc loc = Loc::current());
  void pretty_print(std::ostream& os) const override;
  EmbeddingOptions options;
  Tensor weight;
};
KILN_MODULE(Embedding);

// A module for a function of one tensor (an activation, or any lambda), as torch::nn::Functional.
class FunctionalImpl : public Module {
 public:
  using Function = std::function<Tensor(const Tensor&)>;
  explicit FunctionalImpl(Function f, std::string name = "Functional");
  Tensor forward(const Tensor& input) { return f_(input); }

 private:
  Function f_;
};
KILN_MODULE(Functional);

#define KILN_ACTIVATION_MODULE(Name, fn)                                          \
  class Name##Impl : public Module {                                              \
   public:                                                                        \
    Name##Impl() : Module(#Name "()") {}                                          \
    Tensor forward(const Tensor& input, Loc loc = Loc::current()) { return fn; }   \
  };                                                                              \
  KILN_MODULE(Name)
KILN_ACTIVATION_MODULE(ReLU, kiln::relu(input, loc));
KILN_ACTIVATION_MODULE(GELU, kiln::gelu(input, "none", loc));
KILN_ACTIVATION_MODULE(Sigmoid, kiln::sigmoid(input, loc));
KILN_ACTIVATION_MODULE(Tanh, input.tanh(loc));
#undef KILN_ACTIVATION_MODULE

struct SoftmaxOptions {
  SoftmaxOptions(int64_t dim) : dim_(dim) {}
  int64_t dim_;
};
using LogSoftmaxOptions = SoftmaxOptions;
#define KILN_SOFTMAX_MODULE(Name, fn)                                                              \
  class Name##Impl : public Module {                                                               \
   public:                                                                                         \
    explicit Name##Impl(const SoftmaxOptions& options) : Module(#Name), options(options) {}        \
    explicit Name##Impl(int64_t dim) : Name##Impl(SoftmaxOptions(dim)) {}                          \
    Tensor forward(const Tensor& input, Loc loc = Loc::current()) {                                \
      return kiln::fn(input, options.dim_, std::nullopt, loc);                                     \
    }                                                                                              \
    void pretty_print(std::ostream& os) const override { os << #Name "(dim=" << options.dim_ << ")"; } \
    SoftmaxOptions options;                                                                        \
  };                                                                                               \
  KILN_MODULE(Name)
KILN_SOFTMAX_MODULE(Softmax, softmax);
KILN_SOFTMAX_MODULE(LogSoftmax, log_softmax);
#undef KILN_SOFTMAX_MODULE

// Runs its modules in order, each on the previous one's output. The caller's line reaches every
// module that takes one, so a shape error inside names the line that called the Sequential.
class SequentialImpl : public Module {
 public:
  using Step = std::function<Tensor(const Tensor&, Loc)>;
  SequentialImpl() : Module("Sequential") {}
  template <typename... Modules>
  explicit SequentialImpl(Modules&&... modules) : Module("Sequential") {
    (push_back(std::forward<Modules>(modules)), ...);
  }
  template <typename M>
  void push_back(M module) {
    push_back_module(module.ptr(), [module](const Tensor& x, Loc loc) {
      if constexpr (requires { module(x, loc); }) return module(x, loc);
      else return module(x);
    });
  }
  Tensor forward(const Tensor& input, Loc loc = Loc::current());
  size_t size() const { return steps_.size(); }

 private:
  void push_back_module(std::shared_ptr<Module> module, Step run);
  std::vector<Step> steps_;
};
KILN_MODULE(Sequential);

}  // namespace kiln::nn
