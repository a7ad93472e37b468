// What the Fashion-MNIST example shows and writes: the progress bar, the line per epoch, the
// per-class accuracy table, the metrics CSV and the plot of loss and accuracy (gnuplot).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace fashion_mnist {

struct EpochMetrics {
  int epoch;
  double train_loss, test_loss, test_accuracy, seconds;
  long long kernels_compiled;
};

class ProgressBar {
 public:
  ProgressBar(int epoch, int epochs, size_t total);
  void update(size_t done, double loss);  // redraws at most every 100 ms and at the end

 private:
  int epoch_, epochs_;
  size_t total_;
  std::chrono::steady_clock::time_point start_, drawn_;
};

void print_epoch(const EpochMetrics& m, int epochs);
void print_class_table(const std::vector<int64_t>& predictions, const std::vector<int64_t>& targets);

// The CSV holds every epoch so far; read_csv gives them back on --resume.
void write_csv(const std::string& path, const std::vector<EpochMetrics>& history);
std::vector<EpochMetrics> read_csv(const std::string& path);

// Loss (train and test) and test accuracy per epoch as a PNG; false (and a note on stderr)
// without gnuplot.
bool plot(const std::string& png, const std::string& title, const std::vector<EpochMetrics>& history);

}  // namespace fashion_mnist
