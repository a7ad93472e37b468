#include "report.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

namespace fashion_mnist {

namespace {
constexpr const char* kClasses[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
}  // namespace

ProgressBar::ProgressBar(int epoch, int epochs, size_t total)
    : epoch_(epoch), epochs_(epochs), total_(std::max<size_t>(total, 1)), start_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(size_t done, double loss) {
  auto now = std::chrono::steady_clock::now();
  if (done < total_ && seconds_between(drawn_, now) < 0.1) return;
  drawn_ = now;
  double elapsed = seconds_between(start_, now), rate = static_cast<double>(done) / std::max(elapsed, 1e-9);
  int width = 30, filled = static_cast<int>(static_cast<size_t>(width) * done / total_);
  std::printf("\repoch %d/%d [%s%s] %3zu%%  %7.0f samples/s  loss %.4f  ETA %4.0fs", epoch_, epochs_,
              std::string(static_cast<size_t>(filled), '=').c_str(), std::string(static_cast<size_t>(width - filled), ' ').c_str(),
              100 * done / total_, rate, loss, static_cast<double>(total_ - done) / std::max(rate, 1e-9));
  std::fflush(stdout);
}

void print_epoch(const EpochMetrics& m, int epochs) {
  std::printf("\repoch %d/%d  train loss %.4f  test loss %.4f  test accuracy %.2f%%  %.1fs  (%lld kernels compiled)%20s\n",
              m.epoch, epochs, m.train_loss, m.test_loss, 100 * m.test_accuracy, m.seconds, m.kernels_compiled, "");
}

void print_class_table(const std::vector<int64_t>& predictions, const std::vector<int64_t>& targets) {
  std::printf("\n%-12s %8s\n", "class", "accuracy");
  for (int c = 0; c < 10; ++c) {
    int64_t right = 0, total = 0;
    for (size_t i = 0; i < targets.size(); ++i)
      if (targets[i] == c) ++total, right += predictions[i] == c;
    std::printf("%-12s %7.2f%%\n", kClasses[c], 100.0 * static_cast<double>(right) / static_cast<double>(std::max<int64_t>(total, 1)));
  }
}

void write_csv(const std::string& path, const std::vector<EpochMetrics>& history) {
  std::ofstream out(path);
  out << "epoch,train_loss,test_loss,test_accuracy,seconds,kernels_compiled\n";
  for (const EpochMetrics& m : history)
    out << m.epoch << "," << m.train_loss << "," << m.test_loss << "," << m.test_accuracy << "," << m.seconds << ","
        << m.kernels_compiled << "\n";
}

std::vector<EpochMetrics> read_csv(const std::string& path) {
  std::vector<EpochMetrics> history;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::replace(line.begin(), line.end(), ',', ' ');
    std::istringstream fields(line);
    EpochMetrics m{};
    if (fields >> m.epoch >> m.train_loss >> m.test_loss >> m.test_accuracy >> m.seconds >> m.kernels_compiled)
      history.push_back(m);
  }
  return history;
}

bool plot(const std::string& png, const std::string& title, const std::vector<EpochMetrics>& history) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::fprintf(stderr, "no plot: gnuplot is not installed (apt install gnuplot-nox)\n");
    return false;
  }
  std::string data = png + ".dat", script = png + ".gp";
  {
    std::ofstream d(data);
    for (const EpochMetrics& m : history)
      d << m.epoch << " " << m.train_loss << " " << m.test_loss << " " << 100 * m.test_accuracy << "\n";
    std::ofstream g(script);
    g << "set terminal pngcairo size 1000,420 font 'sans,11'\n"
      << "set output '" << png << "'\n"
      << "set multiplot layout 1,2 title '" << title << "'\n"
      << "set grid\nset xlabel 'epoch'\nset xtics 1\nset key top right\n"
      << "set title 'loss'\nset ylabel 'cross-entropy'\n"
      << "plot '" << data << "' using 1:2 with linespoints lw 2 title 'train', '" << data
      << "' using 1:3 with linespoints lw 2 title 'test'\n"
      << "set title 'test accuracy'\nset ylabel '%'\nset key bottom right\n"
      << "plot '" << data << "' using 1:4 with linespoints lw 2 lc rgb '#2a9d3a' title 'test accuracy'\n"
      << "unset multiplot\n";
  }
  bool ok = std::system(("gnuplot '" + script + "'").c_str()) == 0;
  std::remove(data.c_str());
  std::remove(script.c_str());
  if (!ok) std::fprintf(stderr, "no plot: gnuplot failed\n");
  return ok;
}

}  // namespace fashion_mnist
