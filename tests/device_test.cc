// Devices in the graph: every node has one, ops reject inputs on two devices, `to(device)` records
// a transfer node (differentiated back to the input's device), and on a machine without a GPU
// kiln::cuda says so and asking for kCUDA is a kiln::Error at the call.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "ir/ops.h"
#include "ir/printer.h"
#include "kiln/kiln.h"
#include "passes/simplify.h"
#include "passes/vjp.h"
#include "runtime/cuda/driver.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using testing::error_of;

std::string here(int line) { return std::string(__FILE__) + ":" + std::to_string(line); }

TEST(Device, TensorsAreOnTheCpuAndStayThereThroughOps) {
  Tensor x = arange(6, dtype(kFloat32)).reshape({2, 3});
  EXPECT_EQ(x.device(), Device(kCPU));
  EXPECT_TRUE((x * 2 + 1).sum({1}).device().is_cpu());
  Tensor same = x.to(kCPU);
  EXPECT_EQ(same.impl(), x.impl());  // already there: the tensor itself, no node
  EXPECT_EQ(x.cpu().impl(), x.impl());
}

TEST(Device, WithoutAGpuCudaIsUnavailableAndAskingForItFailsAtTheCall) {
  const runtime::cuda::DriverStatus& driver = runtime::cuda::driver();
  EXPECT_EQ(cuda::is_available(), cuda::device_count() > 0);
  if (cuda::is_available()) GTEST_SKIP() << "this machine has " << cuda::device_count() << " CUDA device(s)";
  std::printf("no CUDA: %s\n", driver.reason.c_str());
  EXPECT_EQ(cuda::device_count(), 0);
  Tensor x = ones({3});
  int line = __LINE__ + 1;
  std::string e = error_of([&] { x.to(Device(kCUDA, 0)); });
  EXPECT_NE(e.find("to"), std::string::npos) << e;
  EXPECT_NE(e.find("cuda:0"), std::string::npos) << e;
  EXPECT_NE(e.find("CUDA is not available"), std::string::npos) << e;
  EXPECT_NE(e.find(here(line)), std::string::npos) << e;
  line = __LINE__ + 1;
  e = error_of([&] { x.cuda(); });
  EXPECT_NE(e.find(here(line)), std::string::npos) << e;
  line = __LINE__ + 1;
  e = error_of([&] { zeros({2, 2}, device(kCUDA)); });
  EXPECT_NE(e.find("CUDA is not available"), std::string::npos) << e;
  EXPECT_NE(e.find(here(line)), std::string::npos) << e;
  e = error_of([&] { randn({2}, TensorOptions(kCUDA)); });
  EXPECT_NE(e.find("CUDA is not available"), std::string::npos) << e;
  e = error_of([&] { ones({1}, device(Device(kCPU, 1))); });
  EXPECT_NE(e.find("one CPU device"), std::string::npos) << e;
}

TEST(Device, TheToolkitsStubDriverMeansNoDevice) {
  const char* stub = "/usr/local/cuda/lib64/stubs/libcuda.so";
  if (!std::fopen(stub, "r")) GTEST_SKIP() << stub << " is not installed";
  runtime::cuda::DriverStatus s = runtime::cuda::probe_driver(stub);
  EXPECT_TRUE(s.loaded);
  EXPECT_EQ(s.device_count, 0);
  EXPECT_NE(s.reason.find("CUDA_ERROR_STUB_LIBRARY"), std::string::npos) << s.reason;
  runtime::cuda::DriverStatus none = runtime::cuda::probe_driver("libkiln-no-such-driver.so");
  EXPECT_FALSE(none.loaded);
  EXPECT_NE(none.reason.find("no CUDA driver"), std::string::npos) << none.reason;
}

// Nodes on a GPU can be built in the IR (nothing runs them here): that is where the mixing rule
// and the transfer node are checked.
TEST(Device, OpsRejectInputsOnTwoDevicesAndTransferNodesPrintTheirDevice) {
  SourceLoc loc{"model.cc", 7};
  Device gpu(kCUDA, 0);
  ir::NodePtr a = ir::full(1.0, {2, 3}, kFloat32, loc);
  ir::NodePtr b = ir::full(2.0, {2, 3}, kFloat32, loc, gpu);
  std::string e = error_of([&] { ir::binary(ir::Op::Add, a, b, loc); });
  EXPECT_NE(e.find("add"), std::string::npos) << e;
  EXPECT_NE(e.find("cpu and cuda:0"), std::string::npos) << e;
  EXPECT_NE(e.find("model.cc:7"), std::string::npos) << e;

  ir::NodePtr moved = ir::transfer(a, gpu, loc);
  EXPECT_EQ(ir::transfer(moved, gpu, loc), moved);  // already there
  ir::NodePtr sum = ir::binary(ir::Op::Add, moved, b, loc);
  EXPECT_EQ(sum->device, gpu);
  EXPECT_EQ(ir::print_graph({sum.get()}),
            "%0 = full {value=1.0} : f32[2, 3]  loc(model.cc:7)\n"
            "%1 = transfer %0 {device=cuda:0} : f32[2, 3]  loc(model.cc:7)\n"
            "%2 = full {value=2.0, device=cuda:0} : f32[2, 3]  loc(model.cc:7)\n"
            "%3 = add %1, %2 {device=cuda:0} : f32[2, 3]  loc(model.cc:7)\n"
            "return %3\n");
  // Equal constants on two devices are two values: simplification must not merge them.
  ir::NodePtr two_cpu = ir::full(2.0, {2}, kFloat32, loc), two_gpu = ir::full(2.0, {2}, kFloat32, loc, gpu);
  ir::NodePtr mixed = ir::binary(ir::Op::Mul, ir::transfer(two_cpu, gpu, loc), two_gpu, loc);
  std::vector<ir::NodePtr> simplified = passes::simplify({mixed});
  std::string text = ir::print_graph({simplified[0].get()});
  EXPECT_NE(text.find("full {value=2.0} : f32[2]"), std::string::npos) << text;
  EXPECT_NE(text.find("full {value=2.0, device=cuda:0} : f32[2]"), std::string::npos) << text;
  // The gradient of a transfer goes back to the input's device.
  ir::NodePtr g = ir::full(1.0, {2, 3}, kFloat32, loc, gpu);
  std::vector<ir::NodePtr> back = passes::vjp(*moved, moved, g);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0]->op, ir::Op::Transfer);
  EXPECT_EQ(back[0]->device, Device(kCPU));
}

}  // namespace
}  // namespace kiln
