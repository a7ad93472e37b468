// torch::einsum for the common contractions: operands are folded left to right, each pair
// becoming one batched matmul over (shared labels kept, shared labels summed, labels of one
// side), with labels no later operand or the output needs summed out first. So "ij,jk->ik",
// "bij,bjk->bik", "i,i->", "ij->ji", "bhqd,bhkd->bhqk" all run as BLAS matmuls plus moves.
#include <algorithm>
#include <map>
#include <string>

#include "frontend/recording.h"
#include "ir/composite.h"
#include "kiln/functions.h"

namespace kiln {

namespace {

struct Term {
  Tensor value;
  std::string labels;  // one letter per axis
};

// Sums out the axes whose labels `keep` lacks.
Term sum_unneeded(Term t, const std::string& keep, Loc call) {
  std::vector<int64_t> axes;
  std::string kept;
  for (size_t k = 0; k < t.labels.size(); ++k) {
    if (keep.find(t.labels[k]) == std::string::npos) axes.push_back(static_cast<int64_t>(k));
    else kept += t.labels[k];
  }
  if (axes.empty()) return t;
  return {t.value.sum(axes, false, std::nullopt, call), kept};
}

// t's axes in the order of `order` (a permutation of t's labels).
Tensor arrange(const Term& t, const std::string& order, Loc call) {
  std::vector<int64_t> perm;
  for (char c : order) perm.push_back(static_cast<int64_t>(t.labels.find(c)));
  return t.value.permute(perm, call);
}

int64_t product(const Term& t, const std::string& labels) {
  int64_t n = 1;
  for (char c : labels) n *= t.value.sizes()[t.labels.find(c)];
  return n;
}

// a and b contracted, keeping the labels in `keep`: one batched matmul.
Term contract(Term a, Term b, const std::string& keep, Loc call) {
  std::string batch, summed, left, right;
  for (char c : a.labels) {
    bool shared = b.labels.find(c) != std::string::npos;
    if (shared) (keep.find(c) != std::string::npos ? batch : summed) += c;
    else left += c;
  }
  for (char c : b.labels)
    if (a.labels.find(c) == std::string::npos) right += c;
  Tensor x = arrange(a, batch + left + summed, call).reshape({product(a, batch), product(a, left), product(a, summed)}, call);
  Tensor y = arrange(b, batch + summed + right, call).reshape({product(b, batch), product(b, summed), product(b, right)}, call);
  std::vector<int64_t> shape;
  for (char c : batch + left) shape.push_back(a.value.sizes()[a.labels.find(c)]);
  for (char c : right) shape.push_back(b.value.sizes()[b.labels.find(c)]);
  return {x.matmul(y, call).reshape(shape, call), batch + left + right};
}

}  // namespace

Tensor einsum(const std::string& equation, const TensorList& operands, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  ir::CompositeScope composite("einsum");
  std::string eq;
  for (char c : equation)
    if (c != ' ') eq += c;
  check(eq.find("...") == std::string::npos, "einsum", loc, "ellipsis ('...') is not supported by Kiln's einsum");
  size_t arrow = eq.find("->");
  std::string inputs = eq.substr(0, arrow);
  std::vector<std::string> labels(1);
  for (char c : inputs) {
    if (c == ',') labels.emplace_back();
    else labels.back() += c;
  }
  check(labels.size() == operands.size(), "einsum", loc, [&] {
    return "the equation names " + std::to_string(labels.size()) + " operands but " + std::to_string(operands.size()) +
           " were given";
  });
  std::map<char, int64_t> size, count;
  std::vector<Term> terms;
  for (size_t i = 0; i < operands.size(); ++i) {
    detail::operand(operands[i], "einsum", loc);
    const std::string& l = labels[i];
    check(static_cast<int64_t>(l.size()) == operands[i].dim(), "einsum", loc, [&] {
      return "operand " + std::to_string(i) + " has " + std::to_string(operands[i].dim()) + " dimensions but the equation gives it \"" + l + "\"";
    });
    for (size_t k = 0; k < l.size(); ++k) {
      char c = l[k];
      check(std::isalpha(static_cast<unsigned char>(c)), "einsum", loc, [&] { return std::string("invalid label '") + c + "'"; });
      check(l.find(c) == k, "einsum", loc, [&] { return std::string("repeated label '") + c + "' within one operand (a diagonal) is not supported"; });
      int64_t n = operands[i].sizes()[k];
      check(!size.count(c) || size[c] == n, "einsum", loc, [&] {
        return std::string("label '") + c + "' has size " + std::to_string(size[c]) + " and " + std::to_string(n);
      });
      size[c] = n;
      ++count[c];
    }
    terms.push_back({operands[i], l});
  }
  std::string output;
  if (arrow != std::string::npos) {
    output = eq.substr(arrow + 2);
    for (char c : output)
      check(size.count(c), "einsum", loc, [&] { return std::string("output label '") + c + "' is not an input label"; });
  } else {
    for (auto [c, n] : count)
      if (n == 1) output += c;  // implicit form: labels seen once, alphabetically
  }
  // Fold left to right; before each step, labels neither the output nor a later operand needs go.
  auto needed_after = [&](size_t i) {
    std::string need = output;
    for (size_t j = i + 1; j < terms.size(); ++j) need += terms[j].labels;
    return need;
  };
  Term acc = sum_unneeded(terms[0], needed_after(0) + (terms.size() > 1 ? terms[1].labels : ""), call);
  for (size_t i = 1; i < terms.size(); ++i) {
    std::string keep = needed_after(i);
    Term next = sum_unneeded(terms[i], keep + acc.labels, call);
    acc = contract(sum_unneeded(acc, keep + next.labels, call), next, keep, call);
  }
  acc = sum_unneeded(acc, output, call);
  return acc.labels == output ? acc.value : arrange(acc, output, call);
}

}  // namespace kiln
