// kiln::cuda, as torch::cuda: whether this machine has a CUDA device Kiln can use. The driver is
// loaded at run time, so these work (and say no) on machines without a GPU or a driver.
#pragma once

namespace kiln::cuda {

bool is_available();  // a driver with at least one device
int device_count();   // 0 when not available

}  // namespace kiln::cuda
