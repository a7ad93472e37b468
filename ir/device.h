// Where a tensor's memory lives and its kernels run, as in LibTorch (kiln::Device(kCUDA, 0)).
// Every graph node has one (ir::Node::device): builders give an op its inputs' device and reject
// inputs on different devices; only a `transfer` node changes device.
#pragma once

#include <cstdint>
#include <algorithm>
#include <string>

namespace kiln {

enum class DeviceType : uint8_t { CPU, CUDA };
inline constexpr DeviceType kCPU = DeviceType::CPU;
inline constexpr DeviceType kCUDA = DeviceType::CUDA;

struct Device {
  Device(DeviceType type = kCPU, int index = -1) : type_(type), index_(index) {}
  DeviceType type() const { return type_; }
  int index() const { return index_; }
  bool is_cpu() const { return type_ == kCPU; }
  bool is_cuda() const { return type_ == kCUDA; }
  std::string str() const;  // "cpu", "cuda", "cuda:1"
  // cuda and cuda:0 name one device, as do cpu and cpu:0.
  bool operator==(const Device& o) const { return type_ == o.type_ && std::max(index_, 0) == std::max(o.index_, 0); }

 private:
  DeviceType type_;
  int index_;
};

}  // namespace kiln
