// Threads that record and evaluate independent graphs at the same time, as programs do: a
// data-loading thread building batches while the training thread steps, and inference threads
// sharing read-only weights. Each thread's numbers must be those of the same work done alone.
// Run it under ThreadSanitizer too: bazel test --config=tsan //tests:concurrency_test
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace kiln {
namespace {

// A batch as a loading thread makes it: from memory the thread owns, normalized.
Tensor load_batch(int64_t index, int64_t rows) {
  std::vector<float> raw(rows * 8);
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<float>((i * 7 + index * 13) % 17);
  Tensor x = from_blob(raw.data(), {rows, 8}).clone();  // raw dies at return
  return ((x - 8.0) / 4.0).eval();
}

// Steps of a small model on batch `b`: returns the loss of each step.
std::vector<double> train(const std::vector<Tensor>& batches) {
  Tensor w = (arange(8 * 3, dtype(kFloat32)).reshape({8, 3}) * 0.01).eval().clone().requires_grad_();
  std::vector<double> losses;
  for (const Tensor& x : batches) {
    Tensor loss = (x.matmul(w).tanh() - 0.5).pow(2).mean();
    loss.backward();
    {
      NoGradGuard no_grad;
      w.sub_(w.grad() * 0.1);
      w.mutable_grad() = Tensor();
    }
    losses.push_back(loss.item<double>());
  }
  return losses;
}

TEST(Concurrency, ALoadingThreadBuildsBatchesWhileTheTrainingThreadSteps) {
  const int kBatches = 40;
  std::vector<Tensor> alone;
  for (int i = 0; i < kBatches; ++i) alone.push_back(load_batch(i, 16));
  std::vector<double> expected = train(alone);

  // A producer hands batches over through a vector it fills ahead of the consumer.
  std::vector<Tensor> loaded(kBatches);
  std::vector<std::atomic<bool>> ready(kBatches);
  std::thread loader([&] {
    for (int i = 0; i < kBatches; ++i) {
      loaded[i] = load_batch(i, 16);
      ready[i].store(true, std::memory_order_release);
    }
  });
  Tensor w = (arange(8 * 3, dtype(kFloat32)).reshape({8, 3}) * 0.01).eval().clone().requires_grad_();
  std::vector<double> got;
  for (int i = 0; i < kBatches; ++i) {
    while (!ready[i].load(std::memory_order_acquire)) std::this_thread::yield();
    // Meanwhile this thread also records unrelated work, as a training loop logging metrics does.
    Tensor metric = (arange(100, dtype(kFloat64)) * (i + 1)).sum();
    Tensor loss = (loaded[i].matmul(w).tanh() - 0.5).pow(2).mean();
    loss.backward();
    {
      NoGradGuard no_grad;
      w.sub_(w.grad() * 0.1);
      w.mutable_grad() = Tensor();
    }
    got.push_back(loss.item<double>());
    EXPECT_EQ(metric.item<double>(), 4950.0 * (i + 1));
  }
  loader.join();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], expected[i]) << "step " << i;
}

TEST(Concurrency, InferenceThreadsShareReadOnlyWeights) {
  manual_seed(11);
  Tensor w = randn({32, 16}).eval(), b = randn({16}).eval();
  auto infer = [&](int thread, int step) {
    Tensor x = (arange(4 * 32, dtype(kFloat32)).reshape({4, 32}) * (0.01 * (thread + 1)) + step * 0.001).sin();
    return softmax((x.matmul(w) + b).relu(), 1);
  };
  const int kThreads = 4, kSteps = 25;
  std::vector<std::vector<std::vector<float>>> expected(kThreads);
  for (int t = 0; t < kThreads; ++t)
    for (int s = 0; s < kSteps; ++s) expected[t].push_back(infer(t, s).to_vector<float>());
  std::vector<std::vector<std::vector<float>>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int s = 0; s < kSteps; ++s) got[t].push_back(infer(t, s).to_vector<float>());
    });
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t)
    for (int s = 0; s < kSteps; ++s) EXPECT_EQ(got[t][s], expected[t][s]) << "thread " << t << " step " << s;
}

TEST(Concurrency, ThreadsDrawingRandomNumbersGetDisjointStreams) {
  manual_seed(5);
  const int kThreads = 4, kDraws = 50;
  std::vector<std::vector<float>> firsts(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kDraws; ++i) firsts[t].push_back(rand({2}).to_vector<float>()[0]);
    });
  for (std::thread& th : threads) th.join();
  // Each draw took its own offset of one generator: the kThreads * kDraws first elements are those
  // of offsets 0 .. kThreads * kDraws - 1, in some order.
  std::vector<float> all, want;
  for (auto& v : firsts) all.insert(all.end(), v.begin(), v.end());
  manual_seed(5);
  for (int i = 0; i < kThreads * kDraws; ++i) want.push_back(rand({2}).to_vector<float>()[0]);
  std::sort(all.begin(), all.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(all, want);
}

}  // namespace
}  // namespace kiln
