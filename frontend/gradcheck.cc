// gradcheck and gradgradcheck: autograd's Jacobians against central finite differences in
// float64, as torch.autograd.gradcheck computes them.
#include <cmath>
#include <sstream>

#include "frontend/recording.h"
#include "kiln/autograd.h"
#include "kiln/functions.h"

namespace kiln::autograd {

namespace {

// Jacobian of one output with respect to one input: entry [k * out_numel + j] is
// d output[j] / d input[k].
using Jacobian = std::vector<double>;

// A copy of x with element k moved by delta; it requires grad as x does, since fn may itself
// differentiate (gradgradcheck's first derivative).
Tensor perturbed(const Tensor& x, int64_t k, double delta) {
  std::vector<double> v = x.to_vector<double>();
  v[static_cast<size_t>(k)] += delta;
  return kiln::tensor(v, dtype(kFloat64)).reshape(x.sizes()).clone().requires_grad_(x.requires_grad());
}

std::vector<double> flat(const Tensor& t, int64_t numel) {
  return t.defined() ? t.to_vector<double>() : std::vector<double>(numel, 0.0);
}

bool compare(const std::vector<std::vector<Jacobian>>& numerical, const std::vector<std::vector<Jacobian>>& analytical,
             const tensor_list& outputs, const std::vector<size_t>& diff, const GradcheckOptions& o, SourceLoc loc) {
  for (size_t out = 0; out < outputs.size(); ++out)
    for (size_t d = 0; d < diff.size(); ++d) {
      const Jacobian &n = numerical[out][d], &a = analytical[out][d];
      int64_t out_numel = outputs[out].numel();
      for (size_t e = 0; e < n.size(); ++e) {
        if (std::abs(a[e] - n[e]) <= o.atol + o.rtol * std::abs(n[e])) continue;
        if (!o.raise_exception) return false;
        std::ostringstream msg;
        msg.precision(10);
        msg << "Jacobian mismatch for output " << out << " with respect to input " << diff[d] << " at (input element "
            << static_cast<int64_t>(e) / out_numel << ", output element " << static_cast<int64_t>(e) % out_numel
            << "): numerical " << n[e] << ", analytical " << a[e];
        throw Error("gradcheck", msg.str(), loc);
      }
    }
  return true;
}

}  // namespace

bool gradcheck(const DifferentiableFn& fn, const tensor_list& inputs, GradcheckOptions options, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  std::vector<size_t> diff;
  tensor_list wrt;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad()) continue;
    check(inputs[i].dtype() == kFloat64, "gradcheck", loc, [&] {
      return "input " + std::to_string(i) + " is " + detail::describe(inputs[i]) +
             "; finite differences need float64 inputs";
    });
    diff.push_back(i);
    wrt.push_back(inputs[i]);
  }
  check(!diff.empty(), "gradcheck", loc, "no input requires grad");
  tensor_list outputs = fn(inputs);

  std::vector<std::vector<Jacobian>> numerical(outputs.size(), std::vector<Jacobian>(diff.size()));
  std::vector<std::vector<Jacobian>> analytical = numerical;
  for (size_t d = 0; d < diff.size(); ++d) {
    const Tensor& x = inputs[diff[d]];
    for (int64_t k = 0; k < x.numel(); ++k) {
      tensor_list plus = inputs, minus = inputs;
      plus[diff[d]] = perturbed(x, k, options.eps);
      minus[diff[d]] = perturbed(x, k, -options.eps);
      tensor_list f_plus = fn(plus), f_minus = fn(minus);
      for (size_t out = 0; out < outputs.size(); ++out) {
        std::vector<double> p = flat(f_plus[out], 0), m = flat(f_minus[out], 0);
        for (size_t j = 0; j < p.size(); ++j) numerical[out][d].push_back((p[j] - m[j]) / (2 * options.eps));
      }
    }
  }
  for (size_t out = 0; out < outputs.size(); ++out) {
    const Tensor& y = outputs[out];
    int64_t n = y.numel();
    for (size_t d = 0; d < diff.size(); ++d) analytical[out][d].assign(wrt[d].numel() * n, 0.0);
    if (!y.requires_grad()) continue;
    for (int64_t j = 0; j < n; ++j) {
      std::vector<double> basis(static_cast<size_t>(n), 0.0);
      basis[static_cast<size_t>(j)] = 1.0;
      Tensor cotangent = kiln::tensor(basis, dtype(y.dtype())).reshape(y.sizes());
      tensor_list g = grad({y}, wrt, {cotangent}, /*retain_graph=*/true, /*create_graph=*/false,
                           /*allow_unused=*/true, call);
      for (size_t d = 0; d < diff.size(); ++d) {
        std::vector<double> column = flat(g[d], wrt[d].numel());
        for (size_t k = 0; k < column.size(); ++k) analytical[out][d][k * n + j] = column[k];
      }
    }
  }
  return compare(numerical, analytical, outputs, diff, options, loc);
}

bool gradgradcheck(const DifferentiableFn& fn, const tensor_list& inputs, GradcheckOptions options, Loc call) {
  tensor_list outputs = fn(inputs);
  tensor_list grad_outputs;
  for (const Tensor& y : outputs)
    grad_outputs.push_back(randn(y.sizes(), dtype(kFloat64).requires_grad(y.requires_grad()), call));
  size_t num_inputs = inputs.size();
  DifferentiableFn first_derivative = [&](const tensor_list& all) {
    tensor_list xs(all.begin(), all.begin() + static_cast<ptrdiff_t>(num_inputs));
    tensor_list ys = fn(xs), seeds, wrt, differentiated;
    for (size_t i = 0; i < ys.size(); ++i)
      if (ys[i].requires_grad()) ys[seeds.size()] = ys[i], seeds.push_back(all[num_inputs + i]);
    ys.resize(seeds.size());
    for (const Tensor& x : xs)
      if (x.defined() && x.requires_grad()) wrt.push_back(x);
    tensor_list g(wrt.size());  // nothing to differentiate: every gradient is zero
    if (!ys.empty())
      g = grad(ys, wrt, seeds, /*retain_graph=*/true, /*create_graph=*/true, /*allow_unused=*/true, call);
    for (size_t k = 0; k < g.size(); ++k) differentiated.push_back(g[k].defined() ? g[k] : zeros_like(wrt[k]));
    return differentiated;
  };
  tensor_list all = inputs;
  all.insert(all.end(), grad_outputs.begin(), grad_outputs.end());
  return gradcheck(first_derivative, all, options, call);
}

}  // namespace kiln::autograd
