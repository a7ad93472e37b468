// Shapes, strides and broadcasting.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

using Shape = std::vector<int64_t>;

int64_t numel(const Shape& shape);
Shape contiguous_strides(const Shape& shape);  // in elements, row-major
std::string shape_str(const Shape& shape);     // "[4, 3]"

// NumPy broadcasting; returns false when the shapes are incompatible.
bool broadcast_shapes(const Shape& a, const Shape& b, Shape& out);

// Maps a possibly negative axis into [0, rank); returns false when out of range.
bool normalize_axis(int64_t& axis, int64_t rank);

}  // namespace kiln
