// Memory the user owns (from_blob): a clone, or any other op that returns a new tensor in
// LibTorch, owns new memory; the user's buffer can then change or die without the tensor seeing it.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using testing::expect_tensor;

TEST(ExternalMemory, CloneOfFromBlobOwnsItsMemory) {
  auto v = std::make_unique<std::vector<double>>(std::vector<double>{1, 2, 3});
  Tensor t = from_blob(v->data(), {3}, dtype(kFloat64)).clone();
  t.eval();
  EXPECT_NE(t.data_ptr<double>(), v->data());
  (*v)[0] = 100;
  v.reset();  // the vector dies: the clone must not read it (ASan checks)
  expect_tensor<double>(t, {3}, {1, 2, 3}, 0);
}

TEST(ExternalMemory, CloneBeforeEvaluationCopiesAtTheCall) {
  // LibTorch copies at clone(); a lazy clone must not read the vector after it died.
  Tensor t;
  {
    std::vector<float> v = {4, 5, 6};
    t = from_blob(v.data(), {3}).clone();
    v.assign({0, 0, 0});
  }
  expect_tensor<float>(t * 2, {3}, {8, 10, 12}, 0);
}

TEST(ExternalMemory, CloneOfAViewOfFromBlobCopiesAtTheCall) {
  Tensor t;
  {
    std::vector<double> v = {1, 2, 3, 4, 5, 6};
    t = from_blob(v.data(), {2, 3}, dtype(kFloat64)).t().slice(0, 1).clone();
    v.assign(6, -1.0);
  }
  expect_tensor<double>(t, {2, 2}, {2, 5, 3, 6}, 0);
}

TEST(ExternalMemory, CloneOfAnEvaluatedTensorIsIndependent) {
  Tensor a = arange(3, dtype(kFloat64)) + 1;
  a.eval();
  Tensor b = a.clone();
  b.data_ptr<double>()[0] = 42;
  expect_tensor<double>(a, {3}, {1, 2, 3}, 0);
  expect_tensor<double>(b, {3}, {42, 2, 3}, 0);
  a.data_ptr<double>()[1] = -7;
  expect_tensor<double>(b, {3}, {42, 2, 3}, 0);
}

}  // namespace
}  // namespace kiln
