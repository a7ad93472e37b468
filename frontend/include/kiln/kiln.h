// Kiln's public API: #include "kiln/kiln.h".
#pragma once

#include "kiln/autocast.h"
#include "kiln/autograd.h"
#include "kiln/config.h"
#include "kiln/cuda.h"
#include "kiln/functions.h"
#include "kiln/indexing.h"
#include "kiln/tensor.h"
#include "kiln/tensor_options.h"
#include "ir/dtype.h"
#include "ir/error.h"
#include "ir/scalar.h"
