// kiln::nn in one include, as <torch/nn.h>: modules, layers, containers, the functional forms and
// the initializers.
#pragma once

#include "kiln/nn/batchnorm.h"
#include "kiln/nn/containers.h"
#include "kiln/nn/conv.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/init.h"
#include "kiln/nn/module.h"
#include "kiln/nn/modules.h"
#include "kiln/nn/pooling.h"
