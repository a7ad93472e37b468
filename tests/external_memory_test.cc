// Memory the user holds: from_blob's, and any buffer whose address data_ptr() handed out.
// - A clone, or any other op that returns a new tensor in LibTorch, owns new memory; the user's
//   buffer can then change or die without the tensor seeing it.
// - In-place ops write that memory, by the time the call returns, at the same address.
// - Graphs recorded before an in-place write keep the values they were recorded with.
// The expected values are LibTorch 1.13's for the same program.
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

TEST(ExternalMemory, InPlaceOpsOnFromBlobWriteTheUsersArray) {
  float arr[3] = {1, 2, 3};
  Tensor b = from_blob(arr, {3});
  b.add_(1);  // LibTorch: arr is {2, 3, 4} when add_ returns
  EXPECT_EQ(arr[0], 2);
  EXPECT_EQ(arr[2], 4);
  b.mul_(2).sub_(1);
  EXPECT_EQ(arr[1], 5);
  b[1].fill_(-1);  // through a view
  EXPECT_EQ(arr[1], -1);
  b.slice(0, 0, 3, 2).zero_();
  EXPECT_EQ(arr[0], 0);
  EXPECT_EQ(arr[2], 0);
  EXPECT_EQ(b.data_ptr<float>(), arr);
  expect_tensor<float>(b, {3}, {0, -1, 0}, 0);
}

TEST(ExternalMemory, InPlaceOnFromBlobKeepsEarlierGraphsValues) {
  double arr[2] = {3, 4};
  Tensor b = from_blob(arr, {2}, dtype(kFloat64));
  Tensor before = b * 10;  // LibTorch computed {30, 40} here
  b.add_(1);
  EXPECT_EQ(arr[0], 4);
  expect_tensor<double>(before, {2}, {30, 40}, 0);
  expect_tensor<double>(b * 10, {2}, {40, 50}, 0);
}

TEST(ExternalMemory, DataPtrStaysValidAcrossInPlaceOps) {
  Tensor t = zeros({3});
  float* p = t.data_ptr<float>();
  t.add_(1);  // LibTorch: the same storage, so p reads 1
  EXPECT_EQ(p[0], 1);
  t.mul_(3);
  EXPECT_EQ(p[2], 3);
  EXPECT_EQ(t.data_ptr<float>(), p);
  Tensor row = t.view({1, 3});
  row.add_(1);  // a view of an exposed buffer writes it too
  EXPECT_EQ(p[1], 4);
  expect_tensor<float>(t, {3}, {4, 4, 4}, 0);
}

TEST(ExternalMemory, DataPtrOfAViewStaysValidAcrossInPlaceOpsOnTheBase) {
  Tensor base = arange(6, dtype(kFloat32)).reshape({2, 3});
  base.eval();
  float* second_row = base[1].data_ptr<float>();
  base.mul_(2);
  EXPECT_EQ(second_row[0], 6);
  EXPECT_EQ(second_row[2], 10);
}

TEST(ExternalMemory, FromBlobDeleterRunsWhenKilnNoLongerNeedsTheMemory) {
  int deleted = 0;
  auto* data = new float[4]{1, 2, 3, 4};
  Tensor pending;
  {
    Tensor t = from_blob(data, {4}, [&](void* p) {
      ++deleted;
      delete[] static_cast<float*>(p);
    });
    pending = t * 2;  // a recorded graph still reads the memory
  }
  EXPECT_EQ(deleted, 0);
  expect_tensor<float>(pending, {4}, {2, 4, 6, 8}, 0);
  EXPECT_EQ(deleted, 1);  // evaluation dropped the graph, the last reader
}

// Kiln reads from_blob memory when a value is evaluated. Changing it between recording and
// evaluation would silently differ from LibTorch (which prints 6 here); the checking mode turns
// that into an error naming the from_blob line, and clone() at the read is the fix.
TEST(ExternalMemory, CheckModeReportsMemoryChangedBeforeEvaluation) {
  CheckExternalGuard check(true);
  std::vector<double> in = {3};
  Tensor t = from_blob(in.data(), {1}, dtype(kFloat64));  int blob_line = __LINE__;
  Tensor pending = t * 2;
  in[0] = 100;
  try {
    pending.eval();
    FAIL() << "expected kiln::Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.op(), "from_blob");
    EXPECT_EQ(e.loc().line, blob_line);
    EXPECT_NE(std::string(e.what()).find("external_memory_test.cc:" + std::to_string(blob_line + 1)), std::string::npos)
        << e.what();  // the line that recorded the read
  }
  in[0] = 3;  // restored: the pending value evaluates as recorded
  expect_tensor<double>(pending, {1}, {6}, 0);

  Tensor snapshot = from_blob(in.data(), {1}, dtype(kFloat64)).clone() * 2;  // the fix
  in[0] = 100;
  expect_tensor<double>(snapshot, {1}, {6}, 0);
}

TEST(ExternalMemory, CheckModeAcceptsChangesBetweenEvaluations) {
  CheckExternalGuard check(true);
  std::vector<float> batch = {1, 2};
  Tensor x = from_blob(batch.data(), {2});
  for (int step = 0; step < 3; ++step) {  // refill, record, evaluate: the loader's pattern
    batch = {float(step), float(step + 1)};
    expect_tensor<float>(x * 10, {2}, {10.f * step, 10.f * (step + 1)}, 0);
  }
  x.add_(1);  // Kiln's own write into the memory
  Tensor y = x + 1;
  expect_tensor<float>(y, {2}, {4, 5}, 0);
  EXPECT_EQ(batch[0], 3);
}

}  // namespace
}  // namespace kiln
