#include "runtime/backend.h"

#include <array>

#include "ir/error.h"

namespace kiln::runtime {

namespace {

// One slot per device kind, filled by each backend's own file at start-up.
std::array<Backend& (*)(int), 2>& registry() {
  static std::array<Backend& (*)(int), 2> slots{};
  return slots;
}

}  // namespace

bool register_backend(DeviceType type, Backend& (*instance)(int index)) {
  registry()[static_cast<size_t>(type)] = instance;
  return true;
}

bool has_backend(Device device) { return registry()[static_cast<size_t>(device.type())] != nullptr; }

Backend& backend_for(Device device) {
  Backend& (*instance)(int) = registry()[static_cast<size_t>(device.type())];
  check(instance != nullptr, "evaluate", {}, [&] { return "no backend runs " + device.str() + " in this build"; });
  return instance(device.index());
}

}  // namespace kiln::runtime
