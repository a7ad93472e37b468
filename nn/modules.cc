#include "kiln/nn/modules.h"

#include <cmath>

#include "kiln/nn/init.h"

namespace kiln::nn {

LinearImpl::LinearImpl(const LinearOptions& o) : Module("Linear"), options(o) {
  check(o.in_features_ > 0 && o.out_features_ > 0, "Linear", {}, [&] {
    return "in_features and out_features must be positive, got " + std::to_string(o.in_features_) + " and " +
           std::to_string(o.out_features_);
  });
  weight = register_parameter("weight", empty({o.out_features_, o.in_features_}));
  if (o.bias_) bias = register_parameter("bias", empty({o.out_features_}));
  reset_parameters();
}

void LinearImpl::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    double bound = 1 / std::sqrt(static_cast<double>(options.in_features_));
    init::uniform_(bias, -bound, bound);
  }
}

Tensor LinearImpl::forward(const Tensor& input, Loc loc) {
  SourceLoc l = SourceLoc::from(loc);
  check(input.defined() && input.dim() >= 1 && input.size(-1) == options.in_features_, "Linear", l, [&] {
    return "expected input with " + std::to_string(options.in_features_) + " features in its last dimension ([*, " +
           std::to_string(options.in_features_) + "]), got " + (input.defined() ? shape_str(input.sizes()) : "undefined");
  });
  return functional::linear(input, weight, bias, loc);
}

void LinearImpl::pretty_print(std::ostream& os) const {
  os << "Linear(in_features=" << options.in_features_ << ", out_features=" << options.out_features_
     << ", bias=" << (options.bias_ ? "true" : "false") << ")";
}

DropoutImpl::DropoutImpl(const DropoutOptions& o) : Module("Dropout"), options(o) {
  check(o.p_ >= 0 && o.p_ <= 1, "Dropout", {}, [&] {
    return "dropout probability has to be between 0 and 1, but got " + std::to_string(o.p_);
  });
}
Tensor DropoutImpl::forward(const Tensor& input, Loc loc) {
  return functional::dropout(input, functional::DropoutFuncOptions().p(options.p_).training(is_training()), loc);
}
void DropoutImpl::pretty_print(std::ostream& os) const { os << "Dropout(p=" << options.p_ << ", inplace=false)"; }

FlattenImpl::FlattenImpl(const FlattenOptions& o) : Module("Flatten"), options(o) {}
Tensor FlattenImpl::forward(const Tensor& input, Loc loc) { return input.flatten(options.start_dim_, options.end_dim_, loc); }
void FlattenImpl::pretty_print(std::ostream& os) const {
  os << "Flatten(start_dim=" << options.start_dim_ << ", end_dim=" << options.end_dim_ << ")";
}

LayerNormImpl::LayerNormImpl(const LayerNormOptions& o) : Module("LayerNorm"), options(o) {
  if (o.elementwise_affine_) {
    weight = register_parameter("weight", ones(o.normalized_shape_));
    bias = register_parameter("bias", zeros(o.normalized_shape_));
  }
}
Tensor LayerNormImpl::forward(const Tensor& input, Loc loc) {
  return functional::layer_norm(
      input, functional::LayerNormFuncOptions(options.normalized_shape_).weight(weight).bias(bias).eps(options.eps_), loc);
}
void LayerNormImpl::pretty_print(std::ostream& os) const {
  os << "LayerNorm(" << shape_str(options.normalized_shape_) << ", eps=" << options.eps_
     << ", elementwise_affine=" << (options.elementwise_affine_ ? "true" : "false") << ")";
}

EmbeddingImpl::EmbeddingImpl(const EmbeddingOptions& o) : Module("Embedding"), options(o) {
  check(o.num_embeddings_ > 0 && o.embedding_dim_ > 0, "Embedding", {}, "num_embeddings and embedding_dim must be positive");
  weight = register_parameter("weight", randn({o.num_embeddings_, o.embedding_dim_}));
}
Tensor EmbeddingImpl::forward(const Tensor& input, Loc loc) { return functional::embedding(input, weight, loc); }
void EmbeddingImpl::pretty_print(std::ostream& os) const {
  os << "Embedding(num_embeddings=" << options.num_embeddings_ << ", embedding_dim=" << options.embedding_dim_ << ")";
}

FunctionalImpl::FunctionalImpl(Function f, std::string name) : Module(std::move(name)), f_(std::move(f)) {}

void SequentialImpl::push_back_module(std::shared_ptr<Module> module, Step run) {
  register_module(std::to_string(steps_.size()), std::move(module));
  steps_.push_back(std::move(run));
}

Tensor SequentialImpl::forward(const Tensor& input, Loc loc) {
  Tensor x = input;
  for (const Step& step : steps_) x = step(x, loc);
  return x;
}

}  // namespace kiln::nn
