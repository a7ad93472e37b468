// Printing follows LibTorch's format (ATen's Formatting.cpp) character for character: integral
// values at the width of the largest, others fixed with four decimals (or a "1e+06 *" scale, or
// scientific), vectors as columns, higher ranks as "(i,j,.,.) = " blocks. The expected strings
// are LibTorch 1.13's output for the same tensors.
#include <gtest/gtest.h>

#include <sstream>

#include "kiln/kiln.h"

namespace kiln {
namespace {

std::string printed(const Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

TEST(Printing, MatchesLibTorch) {
  EXPECT_EQ(printed(ones({2, 2})), " 1  1\n 1  1\n[ CPUFloatType{2,2} ]");
  EXPECT_EQ(printed(full({2, 2}, 4.5)), " 4.5000  4.5000\n 4.5000  4.5000\n[ CPUFloatType{2,2} ]");
  EXPECT_EQ(printed(tensor(27.0)), "27\n[ CPUFloatType{} ]");
  EXPECT_EQ(printed(tensor({102.4, 1024.0, 0.1024})), "  102.4000\n 1024.0000\n    0.1024\n[ CPUFloatType{3} ]");
  EXPECT_EQ(printed(tensor({1500000.5, 2500000.25}, dtype(kFloat64))), "1e+06 *\n 1.5000\n 2.5000\n[ CPUDoubleType{2} ]");
  EXPECT_EQ(printed(tensor({1.5e6, 2.5e6}, dtype(kFloat64))), " 1.5e+06\n 2.5e+06\n[ CPUDoubleType{2} ]");  // integers: the stream's precision
  EXPECT_EQ(printed(tensor({1e-3, 1e3})), " 1.0000e-03\n 1.0000e+03\n[ CPUFloatType{2} ]");
  EXPECT_EQ(printed(arange(8).reshape({2, 2, 2})),
            "(1,.,.) = \n  0  1\n  2  3\n\n(2,.,.) = \n  4  5\n  6  7\n[ CPULongType{2,2,2} ]");
  EXPECT_EQ(printed(tensor({true, false})), " 1\n 0\n[ CPUBoolType{2} ]");
  EXPECT_EQ(printed(tensor({-1.0, std::numeric_limits<double>::quiet_NaN()}, dtype(kFloat64))),
            "-1\nnan\n[ CPUDoubleType{2} ]");
  EXPECT_EQ(printed(Tensor()), "[ Tensor (undefined) ]");
}

TEST(Printing, LeavesTheStreamsFormatAsItWas) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(2);
  os << ones({1}) << " " << 1.0 / 3;
  EXPECT_EQ(os.str(), " 1\n[ CPUFloatType{1} ] 0.33");
}

}  // namespace
}  // namespace kiln
