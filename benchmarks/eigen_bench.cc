// The Eigen column (Debian's libeigen3-dev, Eigen 3.4): W1-W3 written as an Eigen user writes
// them, array expressions that Eigen evaluates with its vectorized packet math (its own tanh,
// exp and logistic), compiled for this CPU (-march=native) and split by rows over the same two
// threads as the copy baseline. Peers measured in the same run, on the same machine.
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "benchmarks/bench_common.h"

namespace kiln_bench {
namespace {

using RowMajor = Eigen::Array<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstRows = Eigen::Map<const RowMajor>;
using Rows = Eigen::Map<RowMajor>;

constexpr float kSqrt2OverPi = 0.7978845608028654f;

// y = gelu_tanh(x * 1.5 + 0.5) * sigmoid(x) over [begin, end).
void Gelu(const float* x, float* y, int64_t begin, int64_t end) {
  Eigen::Map<const Eigen::ArrayXf> a(x + begin, end - begin);
  Eigen::Map<Eigen::ArrayXf> out(y + begin, end - begin);
  auto u = a * 1.5f + 0.5f;
  out = 0.5f * u * (1.f + (kSqrt2OverPi * (u + 0.044715f * u.cube())).tanh()) * a.logistic();
}

// Softmax of rows [begin, end) of a [rows, cols] matrix.
void Softmax(const float* x, float* y, int64_t cols, int64_t begin, int64_t end) {
  ConstRows in(x + begin * cols, end - begin, cols);
  Rows out(y + begin * cols, end - begin, cols);
  for (int64_t r = 0; r < end - begin; ++r) {
    out.row(r) = (in.row(r) - in.row(r).maxCoeff()).exp();
    out.row(r) /= out.row(r).sum();
  }
}

// Layernorm of rows [begin, end) with weight w and bias b (eps 1e-5).
void LayerNorm(const float* x, const float* w, const float* b, float* y, int64_t cols, int64_t begin, int64_t end) {
  ConstRows in(x + begin * cols, end - begin, cols);
  Rows out(y + begin * cols, end - begin, cols);
  Eigen::Map<const Eigen::Array<float, 1, Eigen::Dynamic>> weight(w, cols), bias(b, cols);
  for (int64_t r = 0; r < end - begin; ++r) {
    float mean = in.row(r).mean();
    float var = (in.row(r) - mean).square().mean();
    out.row(r) = (in.row(r) - mean) * (1.f / std::sqrt(var + 1e-5f)) * weight + bias;
  }
}

struct Data {
  std::vector<float> x, y, w, b;
  int64_t rows, cols;
};

Data MakeData(int64_t rows, int64_t cols, bool affine) {
  Data d{std::vector<float>(rows * cols), std::vector<float>(rows * cols), {}, {}, rows, cols};
  std::mt19937 rng(0);
  std::normal_distribution<float> normal;
  for (float& v : d.x) v = normal(rng);
  if (affine) {
    for (int64_t i = 0; i < cols; ++i) d.w.push_back(normal(rng)), d.b.push_back(normal(rng));
  }
  return d;
}

// One evaluation of workload w on d, rows (elements, for W1) split in two halves.
void Run(Work w, Data& d) {
  RunOnTwoThreads([&](int part) {
    int64_t n = w == Work::W1 ? d.rows * d.cols : d.rows;
    int64_t half = (n / 2 + 15) / 16 * 16, begin = part ? half : 0, end = part ? n : half;
    if (w == Work::W1) Gelu(d.x.data(), d.y.data(), begin, end);
    if (w == Work::W2) Softmax(d.x.data(), d.y.data(), d.cols, begin, end);
    if (w == Work::W3) LayerNorm(d.x.data(), d.w.data(), d.b.data(), d.y.data(), d.cols, begin, end);
  });
}

// Workload w's inputs and output, made once.
Data& WorkData(Work w) {
  static std::unique_ptr<Data> cache[kNumWork];
  auto& slot = cache[static_cast<int>(w)];
  if (!slot)
    slot = std::make_unique<Data>(w == Work::W1   ? MakeData(1, kW1Numel, false)
                                  : w == Work::W2 ? MakeData(kW2Rows, kW2Cols, false)
                                                  : MakeData(kW3Rows, kW3Cols, true));
  return *slot;
}

// The same results in double precision, one row at a time.
double Expected(Work w, const Data& d, int64_t r, int64_t c) {
  const float* row = d.x.data() + r * d.cols;
  if (w == Work::W1) {
    double x = row[c], u = x * 1.5 + 0.5;
    return 0.5 * u * (1 + std::tanh(kSqrt2OverPi * (u + 0.044715 * u * u * u))) / (1 + std::exp(-x));
  }
  double mean = 0, var = 0, sum = 0, max = *std::max_element(row, row + d.cols);
  for (int64_t i = 0; i < d.cols; ++i) mean += row[i], sum += std::exp(row[i] - max);
  mean /= static_cast<double>(d.cols);
  for (int64_t i = 0; i < d.cols; ++i) var += (row[i] - mean) * (row[i] - mean);
  var /= static_cast<double>(d.cols);
  if (w == Work::W2) return std::exp(row[c] - max) / sum;
  return (row[c] - mean) / std::sqrt(var + 1e-5) * d.w[c] + d.b[c];
}

}  // namespace

std::string CheckEigen() {
  std::string report;
  for (Work w : {Work::W1, Work::W2, Work::W3}) {
    Data d = w == Work::W1 ? MakeData(1, 4099, false) : MakeData(37, 515, w == Work::W3);
    Run(w, d);
    double worst = 0;
    for (int64_t r = 0; r < d.rows; ++r)
      for (int64_t c = 0; c < d.cols; ++c) {
        double want = Expected(w, d, r, c);
        worst = std::max(worst, std::fabs(d.y[r * d.cols + c] - want) / (1 + std::fabs(want)));
      }
    char line[128];
    std::snprintf(line, sizeof line, "eigen %s: %s, max relative |diff| %.2e\n", WorkName(w),
                  worst < 1e-4 ? "ok" : "MISMATCH", worst);
    report += line;
  }
  return report;
}

void RegisterEigenBenchmarks(Work w) {
  if (!IsMemoryBound(w)) return;
  std::string name = std::string(WorkName(w)) + "/eigen";
  benchmark::RegisterBenchmark(name.c_str(),
                               [w](benchmark::State& state) {
                                 Data& d = WorkData(w);
                                 SetCounters(state, w, TimedLoop(state, [&] { Run(w, d); }));
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace kiln_bench
