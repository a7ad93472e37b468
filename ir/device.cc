#include "ir/device.h"

namespace kiln {

std::string Device::str() const {
  std::string s = type_ == kCPU ? "cpu" : "cuda";
  return index_ >= 0 ? s + ":" + std::to_string(index_) : s;
}

}  // namespace kiln
