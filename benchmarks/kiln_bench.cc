// kiln_bench: Kiln's performance against the machine's own limits (a memcpy of the same bytes,
// cblas_sgemm alone) and against LibTorch when it is built in. See benchmarks/README.md.
//
// Run with benchmarks/run.sh (it unsets OPENBLAS_CORETYPE, which halves OpenBLAS's sgemm).
// Extra flags of this binary (before or among Google Benchmark's):
//   --skip_check        skip the start-up check of the JIT against the reference executor
//   --baseline_reps=N   repetitions of each start-up baseline measurement (default 15)
// Defaults passed to Google Benchmark unless given: --benchmark_min_time=0.1
// --benchmark_repetitions=5 --benchmark_display_aggregates_only=true.
#include <cblas.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "benchmarks/bench_common.h"

namespace kiln_bench {
namespace {

// "model name (family F, model M)" from /proc/cpuinfo.
std::string CpuModel() {
  std::ifstream f("/proc/cpuinfo");
  std::string line, name = "unknown", family, model;
  auto value = [&] { return line.substr(line.find(':') + 2); };
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0 && name == "unknown") name = value();
    if (line.rfind("cpu family", 0) == 0 && family.empty()) family = value();
    if (line.rfind("model\t", 0) == 0 && model.empty()) model = value();
  }
  return name + " (family " + family + ", model " + model + ")";
}

double LoadAverage() {
  double l[1] = {-1};
  return getloadavg(l, 1) == 1 ? l[0] : -1;
}
double g_load_at_start = -1;

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// The columns of the summary table, in order.
const char* const kColumns[] = {"baseline",     "compute_floor", "kiln_fused",    "kiln_unfused", "kiln_specialized",
                                "kiln_reference", "torch_default", "torch_tuned",  "eigen"};

struct Cell {
  bool set = false;
  std::string error;
  double ms = 0, ratio = 0, rate = 0;  // rate: GB/s (W1-W3) or GFLOP/s (W4, W5)
  double kernels = -1;                 // Kiln's JIT columns: kernels launched per evaluation
};

// Console output as usual, plus a Markdown summary (medians) and the targets at the end.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  explicit SummaryReporter(bool color) : ConsoleReporter(color ? OO_ColorTabular : OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& reports) override {
    ConsoleReporter::ReportRuns(reports);
    for (const Run& r : reports) {
      bool use = r.run_type == Run::RT_Aggregate ? r.aggregate_name == "median" : r.repetitions <= 1;
      if (!use) continue;
      const std::string& name = r.run_name.function_name;  // "W1_gelu/kiln_fused"
      size_t slash = name.find('/');
      if (slash == std::string::npos) continue;
      std::string work = name.substr(0, slash), col = name.substr(slash + 1);
      if (col.rfind("copy_memcpy_2t", 0) == 0 || col == "sgemm") col = "baseline";
      Cell& c = cells_[work][col];
      c.set = true;
      if (r.error_occurred) {
        c.error = r.error_message;
        continue;
      }
      c.ms = r.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(r.time_unit) * 1e3;
      auto get = [&](const char* k) {
        auto it = r.counters.find(k);
        return it == r.counters.end() ? 0.0 : it->second.value;
      };
      bool mem = r.counters.count("x_copy") != 0;
      c.ratio = mem ? get("x_copy") : get("x_sgemm");
      c.rate = mem ? get("GB/s") : get("GFLOP/s");
      if (col.rfind("kiln_", 0) == 0 && col != "kiln_reference") c.kernels = get("kernels");
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::ostream& os = GetOutputStream();
    os << "\nSummary (medians of the repetitions; ratio = time / baseline time, the baseline (memcpy of "
          "the same bytes on 2 threads for W1-W3, cblas_sgemm alone for W4, W5's 8 sgemm calls in a row for "
          "W5) measured right after each timed loop):\n\n| workload |";
    for (const char* c : kColumns) os << " " << c << " |";
    os << "\n|---|";
    for (size_t i = 0; i < std::size(kColumns); ++i) os << "---|";
    os << "\n";
    for (Work w : kAllWork) {
      auto it = cells_.find(WorkName(w));
      if (it == cells_.end()) continue;
      os << "| " << WorkName(w) << " |";
      for (const char* col : kColumns) {
        auto c = it->second.find(col);
        os << " " << (c == it->second.end() ? "" : CellText(c->second, IsMemoryBound(w), c->first == "baseline"))
           << " |";
      }
      os << "\n";
    }
    // At the end the load average includes this program's own 2 threads, so only the start counts.
    os << Fmt("\nLoad average (1 min) at start: %.2f", g_load_at_start)
       << (g_load_at_start > 0.5 ? "  <-- other work was running: figures are unreliable" : "") << "\n";
    os << "\nTargets (kiln_fused):\n";
    double fu = Ms("W1_gelu", "kiln_unfused"), fs = Ms("W1_gelu", "kiln_fused"), eg = Ms("W1_gelu", "eigen");
    double floor_ms = Ms("W1_gelu", "compute_floor");
    Target(os, "W1_gelu", "within 1.15x of the compute floor", fs / floor_ms, 1.15,
           Fmt("(kiln_fused %.3f ms, ", fs) + Fmt("AVX-512 loop %.3f ms)", floor_ms));
    Target(os, "W1_gelu", "at least 1.5x faster than Eigen", 1.5 * fs / eg, 1.0,
           fs > 0 && eg > 0 ? Fmt("(%.2fx faster)", eg / fs) : "");
    Target(os, "W1_gelu", "unfused/fused >= 4", fs > 0 && fu > 0 ? 4.0 * fs / fu : NAN, 1.0,
           fs > 0 && fu > 0 ? Fmt("(%.2fx faster than unfused)", fu / fs) : "");
    Target(os, "W2_softmax", "x_copy <= 1.3", Ratio("W2_softmax", "kiln_fused"), 1.3,
           Fmt("(x_copy %.2f)", Ratio("W2_softmax", "kiln_fused")));
    Target(os, "W3_layernorm", "x_copy <= 1.3", Ratio("W3_layernorm", "kiln_fused"), 1.3,
           Fmt("(x_copy %.2f)", Ratio("W3_layernorm", "kiln_fused")));
    for (const char* w : {"W1_gelu", "W2_softmax", "W3_layernorm"}) {
      double rt = Ms(w, "kiln_fused"), sp = Ms(w, "kiln_specialized");
      Target(os, w, "runtime extent / specialized <= 1.05", rt / sp, 1.05,
             Fmt("(kiln_fused %.3f ms, kiln_specialized ", rt) + Fmt("%.3f ms)", sp));
    }
    Target(os, "W4_matmul", ">= 95% of sgemm", Ratio("W4_matmul", "kiln_fused"), 1.0 / 0.95);
    Target(os, "W4_linear_relu", "x_sgemm <= 1.05", Ratio("W4_linear_relu", "kiln_fused"), 1.05,
           Fmt("(x_sgemm %.2f)", Ratio("W4_linear_relu", "kiln_fused")));
    double mf = Ms("W5_mlp_train", "kiln_fused"), mu = Ms("W5_mlp_train", "kiln_unfused");
    Target(os, "W5_mlp_train", "x_sgemm of its 8 matmuls <= 1.10", Ratio("W5_mlp_train", "kiln_fused"), 1.10,
           Fmt("(x_sgemm %.2f", Ratio("W5_mlp_train", "kiln_fused")) +
               (mf > 0 && mu > 0 ? Fmt("; %.2fx faster than unfused)", mu / mf) : ")"));
    // Peers. REFERENCE.md's figures were measured on its development machine (Zen 5, where a 2^24
    // float copy takes 1.2 ms and sgemm 1024^3 runs at 380 GFLOP/s): absolute times compare only
    // there, so each is also scaled to this machine through the same baselines.
    os << "Eigen 3.4 measured in this run (kiln_fused time / Eigen time):\n";
    for (Work w : {Work::W1, Work::W2, Work::W3}) {
      double k = Ms(WorkName(w), "kiln_fused"), e = Ms(WorkName(w), "eigen");
      os << "  " << WorkName(w) << ": "
         << (std::isnan(k) || std::isnan(e) ? "n/a" : Fmt("%.2fx", k / e) + (k < e ? " (win)" : " (LOSS)")) << "\n";
    }
    os << "Peers (REFERENCE.md, the better of Eigen 3.4 and LibTorch tuned; 'scaled' = the peer's "
          "ratio to REFERENCE's own copy/sgemm figures, compared with ours):\n";
    Peer(os, "W1_gelu", "Eigen 2.9 ms", 2.9, 2.9 / 1.2);
    Peer(os, "W2_softmax", "Eigen 2.9 ms", 2.9, 2.9 / 1.2);
    Peer(os, "W3_layernorm", "Eigen 1.14 ms", 1.14, 1.14 / 0.6);  // 2^23-float copy taken as 0.6 ms
    double gf = Rate("W4_matmul", "kiln_fused"), xs = Ratio("W4_matmul", "kiln_fused");
    os << "  W4_matmul: LibTorch tuned 460 GFLOP/s: ";
    if (gf > 0 && xs > 0)
      os << Fmt("absolute %.2fx of its rate", gf / 460) << (gf >= 460 ? " (beats)" : " (behind)")
         << Fmt("; scaled: %.2fx sgemm's rate vs peer's 1.21x (460/380)", 1.0 / xs)
         << (1.0 / xs >= 460.0 / 380 ? " (beats)" : " (behind)") << "\n";
    else
      os << "n/a\n";
    os << "LibTorch measured in this run (kiln_fused time / best LibTorch time; within 3% is a tie):\n";
    for (Work w : kAllWork) {
      double k = Ms(WorkName(w), "kiln_fused");
      double t = std::fmin(Ms(WorkName(w), "torch_default"), Ms(WorkName(w), "torch_tuned"));
      if (std::isnan(t)) continue;
      const char* verdict = k < 0.97 * t ? " (win)" : k > 1.03 * t ? " (LOSS)" : " (tie)";
      os << "  " << WorkName(w) << ": " << (std::isnan(k) ? "n/a" : Fmt("%.2fx", k / t) + verdict) << "\n";
    }
  }

 private:
  static std::string CellText(const Cell& c, bool mem, bool baseline) {
    if (!c.error.empty()) return "error: " + c.error.substr(0, 60);
    std::string s = Fmt(c.ms < 10 ? "%.3f ms" : "%.1f ms", c.ms);
    if (!baseline) s += Fmt(", %.2fx", c.ratio);
    s += mem ? Fmt(", %.1f GB/s", c.rate) : Fmt(", %.0f GFLOP/s", c.rate);
    if (c.kernels >= 0) s += Fmt(c.kernels == 1 ? ", %.0f kernel" : ", %.0f kernels", c.kernels);
    return s;
  }
  const Cell* Find(const std::string& work, const std::string& col) const {
    auto w = cells_.find(work);
    if (w == cells_.end()) return nullptr;
    auto c = w->second.find(col);
    return c == w->second.end() || !c->second.error.empty() ? nullptr : &c->second;
  }
  double Ms(const std::string& w, const std::string& c) const {
    auto* p = Find(w, c);
    return p ? p->ms : NAN;
  }
  double Ratio(const std::string& w, const std::string& c) const {
    auto* p = Find(w, c);
    return p ? p->ratio : NAN;
  }
  double Rate(const std::string& w, const std::string& c) const {
    auto* p = Find(w, c);
    return p ? p->rate : NAN;
  }

  // A peer's absolute time (REFERENCE's machine) and its ratio to REFERENCE's copy time.
  void Peer(std::ostream& os, const std::string& work, const std::string& what, double peer_ms,
            double peer_x_copy) const {
    double ms = Ms(work, "kiln_fused"), x = Ratio(work, "kiln_fused");
    os << "  " << work << ": " << what << ": ";
    if (std::isnan(ms)) {
      os << "n/a\n";
      return;
    }
    os << Fmt("absolute %.2fx", ms / peer_ms) << (ms <= peer_ms ? " (beats)" : " (behind)")
       << Fmt("; scaled: x_copy %.2f", x) << Fmt(" vs peer's %.2f", peer_x_copy)
       << (x <= peer_x_copy ? " (beats)" : " (behind)") << "\n";
  }

  // `value` must be <= `limit`; prints PASS/MISS and by how much it is off.
  static void Target(std::ostream& os, const std::string& work, const std::string& what, double value, double limit,
                     const std::string& note = "") {
    os << "  " << work << ": " << what << ": ";
    if (std::isnan(value))
      os << "n/a (not measured)";
    else if (value <= limit)
      os << "PASS";
    else
      os << "MISS by " << Fmt("%.2fx", value / limit);
    if (!note.empty()) os << " " << note;
    os << "\n";
  }

  std::map<std::string, std::map<std::string, Cell>> cells_;
};

}  // namespace
}  // namespace kiln_bench

int main(int argc, char** argv) {
  using namespace kiln_bench;
  // Our own flags, then Google Benchmark's (with our defaults first, so the user's win).
  bool check = true, user_format = false, color = isatty(1) != 0;
  int baseline_reps = 15;
  std::vector<std::string> args = {argv[0], "--benchmark_min_time=0.1", "--benchmark_repetitions=5",
                                   "--benchmark_display_aggregates_only=true"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--skip_check") {
      check = false;
    } else if (a.rfind("--baseline_reps=", 0) == 0) {
      baseline_reps = std::max(1, std::atoi(a.c_str() + 16));
    } else {
      if (a.rfind("--benchmark_format", 0) == 0) user_format = true;
      if (a.rfind("--benchmark_color=", 0) == 0) {
        std::string v = a.substr(18);
        color = v == "true" || v == "yes" || v == "1" || (v == "auto" && isatty(1));
      }
      args.push_back(a);
    }
  }
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  int cargc = static_cast<int>(cargs.size());
  benchmark::Initialize(&cargc, cargs.data());
  if (benchmark::ReportUnrecognizedArguments(cargc, cargs.data())) return 1;

  g_load_at_start = LoadAverage();
  benchmark::AddCustomContext("cpu_model", CpuModel());
  benchmark::AddCustomContext("nproc", std::to_string(sysconf(_SC_NPROCESSORS_ONLN)));
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  benchmark::AddCustomContext("OPENBLAS_CORETYPE", coretype ? std::string(coretype) +
                                                                  "  <-- set: sgemm may run at half speed; use "
                                                                  "benchmarks/run.sh"
                                                            : "unset");
  benchmark::AddCustomContext(
      "openblas", std::string(openblas_get_config()) + ", " + std::to_string(openblas_get_num_threads()) + " threads");
  const char* kiln_threads = std::getenv("KILN_NUM_THREADS");
  benchmark::AddCustomContext(
      "kiln_threads", kiln_threads ? std::string(kiln_threads) + " (KILN_NUM_THREADS)"
                                   : std::to_string(std::thread::hardware_concurrency()) + " (hardware threads)");
  benchmark::AddCustomContext("copy_baseline", "memcpy, 2 threads (caller + 1 std::thread worker), pre-faulted");
  benchmark::AddCustomContext("libtorch", TorchInfo());

  if (check) {
    std::string report = CheckKiln() + CheckEigen() + CheckComputeFloor();
    std::fprintf(stderr, "Start-up check on small shapes (the JIT vs the reference executor, Eigen vs double loops):\n%s\n",
                 report.c_str());
    bool all_ok = report.find("ERROR") == std::string::npos && report.find("MISMATCH") == std::string::npos;
    benchmark::AddCustomContext("jit_check", all_ok ? "all ok" : "FAILED (see stderr)");
  }

  MeasureBaselines(baseline_reps);
  const Baselines& b = baselines();
  for (Work w : kAllWork) {
    int i = static_cast<int>(w);
    std::string v =
        IsMemoryBound(w)
            ? Fmt("memcpy %.3f ms", b.copy_s[i] * 1e3) + Fmt(", loop copy %.3f ms", b.loop_copy_s[i] * 1e3)
            : Fmt("sgemm %.3f ms", b.sgemm_s[i] * 1e3) + Fmt(" (%.0f GFLOP/s)", WorkFlops(w) / b.sgemm_s[i] * 1e-9);
    benchmark::AddCustomContext(std::string("baseline_") + WorkName(w), v);
  }

  for (Work w : kAllWork) {  // W4, W5 last: OpenBLAS's threads spin for a while after each call
    RegisterBaselineBenchmarks(w);
    RegisterKilnBenchmarks(w);
    if (w == Work::W1) RegisterComputeFloorBenchmark();
    RegisterEigenBenchmarks(w);
    RegisterTorchBenchmarks(w);
  }

  if (user_format) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    SummaryReporter reporter(color);
    benchmark::RunSpecifiedBenchmarks(&reporter);
  }
  benchmark::Shutdown();
  return 0;
}
