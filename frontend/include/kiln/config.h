// Process-wide execution settings.
#pragma once

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

// Scope guards, as torch::NoGradGuard: set a setting for their scope and restore the previous
// value when it ends, also when an exception leaves it.
class BackendGuard {
 public:
  explicit BackendGuard(Backend b) : previous_(backend()) { set_backend(b); }
  ~BackendGuard() { set_backend(previous_); }
  BackendGuard(const BackendGuard&) = delete;
  BackendGuard& operator=(const BackendGuard&) = delete;

 private:
  Backend previous_;
};

class FusionGuard {
 public:
  explicit FusionGuard(bool enabled) : previous_(fusion_enabled()) { set_fusion(enabled); }
  ~FusionGuard() { set_fusion(previous_); }
  FusionGuard(const FusionGuard&) = delete;
  FusionGuard& operator=(const FusionGuard&) = delete;

 private:
  bool previous_;
};

class RuntimeExtentsGuard {
 public:
  explicit RuntimeExtentsGuard(bool enabled) : previous_(runtime_extents_enabled()) { set_runtime_extents(enabled); }
  ~RuntimeExtentsGuard() { set_runtime_extents(previous_); }
  RuntimeExtentsGuard(const RuntimeExtentsGuard&) = delete;
  RuntimeExtentsGuard& operator=(const RuntimeExtentsGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace kiln
