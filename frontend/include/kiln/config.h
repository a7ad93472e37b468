// Process-wide execution settings.
#pragma once

#include <source_location>

namespace kiln {

// Which executor computes values: JIT-compiled kernels (the default) or the reference executor,
// which runs each primitive as a plain C++ loop (the numeric oracle). The environment variable
// KILN_BACKEND=reference selects the reference executor at start-up.
enum class Backend { Jit, Reference };
void set_backend(Backend backend);
Backend backend();

// Whether the JIT fuses nodes into kernels (the default). With fusion off every primitive is its
// own kernel, so fused and unfused runs can be compared. KILN_FUSION=0 turns it off at start-up.
void set_fusion(bool enabled);
bool fusion_enabled();

// Whether a kernel's leading (batch) extent is a launch argument where the kernel allows it (the
// default), so that a new batch size compiles no kernel; off, every kernel is compiled for its
// concrete shapes (to benchmark one against the other). KILN_RUNTIME_EXTENTS=0 turns it off at
// start-up.
void set_runtime_extents(bool enabled);
bool runtime_extents_enabled();

// Whether evaluation checks that memory the user holds (from_blob) is unchanged since a pending
// graph recorded a read of it (off by default; KILN_CHECK_EXTERNAL=1 turns it on at start-up).
// Kiln reads from_blob memory when a value is evaluated, so changing or freeing it in between
// would give other numbers than LibTorch; with the check on, that evaluation throws kiln::Error
// naming the from_blob call's line. See docs/LAZINESS.md.
void set_check_external(bool enabled);
bool check_external_enabled();

// The threads Kiln's kernels (and OpenBLAS) run on, as torch::set_num_threads (KILN_NUM_THREADS
// sets it at start-up; the default is the machine's cores).
void set_num_threads(int n, std::source_location loc = std::source_location::current());
int get_num_threads();

// Scope guards, as torch::NoGradGuard: set a setting for their scope and restore the previous
// value when it ends, also when an exception leaves it.
template <typename T, T (*Get)(), void (*Set)(T)>
class SettingGuard {
 public:
  explicit SettingGuard(T value) : previous_(Get()) { Set(value); }
  ~SettingGuard() { Set(previous_); }
  SettingGuard(const SettingGuard&) = delete;
  SettingGuard& operator=(const SettingGuard&) = delete;

 private:
  T previous_;
};
using BackendGuard = SettingGuard<Backend, backend, set_backend>;
using FusionGuard = SettingGuard<bool, fusion_enabled, set_fusion>;
using RuntimeExtentsGuard = SettingGuard<bool, runtime_extents_enabled, set_runtime_extents>;
using CheckExternalGuard = SettingGuard<bool, check_external_enabled, set_check_external>;

}  // namespace kiln
