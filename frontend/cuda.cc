#include "kiln/cuda.h"

#include "runtime/cuda/driver.h"

namespace kiln::cuda {

bool is_available() { return device_count() > 0; }
int device_count() { return runtime::cuda::driver().device_count; }

}  // namespace kiln::cuda
