// Saves a large model to argv[1]: serialize_test runs it under a file-size limit, so the
// process dies (SIGXFSZ) part-way through the write, as a crash mid-save would.
#include "kiln/kiln.h"
#include "kiln/nn/modules.h"
#include "kiln/serialize.h"

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  kiln::manual_seed(2);
  kiln::nn::Linear model(1000, 1000);
  kiln::save(model, argv[1]);
  return 0;
}
