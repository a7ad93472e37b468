// Checkpoints: modules and named tensors round-trip through safetensors files; truncated,
// corrupt, missing-key and wrong-shape files are rejected with kiln::Error naming the file and
// leave the module as it was; a save replaces the file atomically; and an independent reader
// (Python's standard library alone) gets the same numbers from a Kiln checkpoint.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <sstream>

#include "kiln/kiln.h"
#include "kiln/nn/modules.h"
#include "kiln/optim/optimizer.h"
#include "kiln/serialize.h"
#include "tests/child_process.h"
#include "tests/testing.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("kiln_serialize_test_" + std::to_string(getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

std::vector<std::vector<double>> values_of(nn::Module& m) {
  std::vector<std::vector<double>> out;
  for (const Tensor& p : m.parameters()) out.push_back(p.to_vector<double>());
  return out;
}

TEST(Checkpoint, ModuleRoundTripKeepsParameterIdentity) {
  TempDir t;
  std::string path = (t.path / "model.safetensors").string();
  manual_seed(1);
  nn::Sequential a(nn::Linear(4, 3), nn::ReLU(), nn::Linear(3, 2));
  save(a, path);
  manual_seed(2);
  nn::Sequential b(nn::Linear(4, 3), nn::ReLU(), nn::Linear(3, 2));
  Tensor held = b->parameters()[0];  // an optimizer's handle
  EXPECT_NE(values_of(*a), values_of(*b));
  load(b, path);
  EXPECT_EQ(values_of(*a), values_of(*b));
  EXPECT_EQ(held.to_vector<double>(), a->parameters()[0].to_vector<double>());
  EXPECT_TRUE(held.requires_grad());
  Tensor x = randn({5, 4});
  EXPECT_TRUE(a(x).equal(b(x)));
  EXPECT_FALSE(fs::exists(path + ".tmp." + std::to_string(getpid())));
}

TEST(Checkpoint, TensorsOfEveryDtype) {
  TempDir t;
  std::string path = (t.path / "tensors.safetensors").string();
  std::map<std::string, Tensor> in = {
      {"f64", tensor({1.5, -2.25}, dtype(kFloat64))}, {"i64", tensor({{1, 2}, {3, 4}})},
      {"u8", tensor({0, 255}).to(kUInt8)},            {"b", tensor({true, false, true})},
      {"f32", arange(6, dtype(kFloat32)).reshape({2, 3}).t()}};  // a view: written contiguous
  save(in, path);
  std::map<std::string, Tensor> out = load_tensors(path);
  ASSERT_EQ(out.size(), in.size());
  for (const auto& [name, value] : in) {
    EXPECT_EQ(out[name].dtype(), value.dtype()) << name;
    EXPECT_TRUE(out[name].equal(value)) << name;
  }
}

TEST(Checkpoint, BadFilesAreRejectedAndChangeNothing) {
  TempDir t;
  manual_seed(3);
  nn::Linear model(3, 2);
  std::vector<std::vector<double>> before = values_of(*model);
  std::string good = (t.path / "good").string();
  save(model, good);
  std::ifstream in(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream((t.path / name).string(), std::ios::binary) << content;
    return (t.path / name).string();
  };
  std::string truncated = write("truncated", bytes.substr(0, bytes.size() - 5));
  std::string corrupt = write("corrupt", bytes.substr(0, 8) + std::string(bytes.size() - 8, '{'));
  std::string tiny = write("tiny", "abc");
  std::string missing = (t.path / "missing_key").string();
  save(std::map<std::string, Tensor>{{"weight", model->weight}}, missing);
  std::string wrong = (t.path / "wrong_shape").string();
  save(nn::Linear(3, 4), wrong);
  EXPECT_KILN_ERROR(load(model, truncated), "load", "truncated");
  EXPECT_KILN_ERROR(load(model, corrupt), "load", "corrupt header");
  EXPECT_KILN_ERROR(load(model, tiny), "load", "truncated");
  EXPECT_KILN_ERROR(load(model, missing), "load", "missing key \"bias\"");
  EXPECT_KILN_ERROR(load(model, wrong), "load", "\"bias\" is float32[4] in the file but float32[2] in the module");
  EXPECT_KILN_ERROR(load(model, (t.path / "nowhere").string()), "load", "no such file");
  EXPECT_EQ(values_of(*model), before);
  // A failed save leaves the previous checkpoint as it was.
  EXPECT_KILN_ERROR(save(std::map<std::string, Tensor>{{"x", Tensor()}}, good), "save", "undefined");
  load(model, good);
  EXPECT_EQ(values_of(*model), before);
}

TEST(Checkpoint, PythonsStandardLibraryReadsTheSameNumbers) {
  if (std::system("python3 -c 'import json, struct' 2>/dev/null") != 0) GTEST_SKIP() << "no python3";
  TempDir t;
  std::string path = (t.path / "w.safetensors").string();
  save(std::map<std::string, Tensor>{{"w", tensor({0.5, -1.25, 3.0}, dtype(kFloat32))}}, path);
  std::string script =
      "import json,struct,sys\n"
      "b=open(sys.argv[1],'rb').read()\n"
      "n=struct.unpack('<Q',b[:8])[0]\n"
      "h=json.loads(b[8:8+n])\n"
      "e=h['w']\n"
      "s,t=e['data_offsets']\n"
      "print(e['dtype'],e['shape'],struct.unpack('<3f',b[8+n+s:8+n+t]))\n";
  std::string command = "python3 -c \"" + std::string() + "$(cat <<'EOF'\n" + script + "EOF\n)\" " + path;
  FILE* p = popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[256] = {};
  std::string out = fgets(buf, sizeof buf, p) ? buf : "";
  pclose(p);
  EXPECT_EQ(out, "F32 [3] (0.5, -1.25, 3.0)\n");
}

// Runs a Python snippet on `path`; its first output line, or nullopt without python3 and NumPy.
std::optional<std::string> python_numpy(const std::string& script, const std::string& path) {
  if (std::system("python3 -c 'import numpy' 2>/dev/null") != 0) return std::nullopt;
  std::string command = "python3 -c \"$(cat <<'EOF'\n" + script + "EOF\n)\" " + path;
  FILE* p = popen(command.c_str(), "r");
  if (!p) return std::nullopt;
  char buf[512] = {};
  std::string out = fgets(buf, sizeof buf, p) ? buf : "";
  pclose(p);
  return out;
}

TEST(Checkpoint, NumpyReadsSafetensorsAndNpy) {
  TempDir t;
  std::string st = (t.path / "m.safetensors").string(), npy = (t.path / "w.npy").string();
  Tensor w = tensor({{1.5, -2.0, 0.25}, {4.0, 8.0, -0.5}}, dtype(kFloat64));
  save(std::map<std::string, Tensor>{{"w", w}, {"n", tensor({3, 1, 2}, dtype(kInt32))}}, st);
  std::optional<std::string> got = python_numpy(
      "import json,struct,sys,numpy as np\n"
      "b=open(sys.argv[1],'rb').read()\n"
      "n=struct.unpack('<Q',b[:8])[0]\n"
      "h=json.loads(b[8:8+n])\n"
      "def get(k,t):\n"
      "  s,e=h[k]['data_offsets']\n"
      "  return np.frombuffer(b[8+n+s:8+n+e],dtype=t).reshape(h[k]['shape'])\n"
      "print(get('w','<f8').sum(axis=1).tolist(), get('n','<i4').tolist())\n",
      st);
  if (!got) GTEST_SKIP() << "no python3 with NumPy";
  EXPECT_EQ(*got, "[-0.25, 11.5] [3, 1, 2]\n");
  save_npy(w, npy);
  EXPECT_EQ(*python_numpy("import sys,numpy as np\na=np.load(sys.argv[1])\nprint(a.dtype, a.shape, a[1].tolist())\n", npy),
            "float64 (2, 3) [4.0, 8.0, -0.5]\n");
  // And back: NumPy writes, Kiln reads.
  python_numpy("import sys,numpy as np\nnp.save(sys.argv[1], np.arange(6,dtype=np.int16).reshape(3,2))\nprint()\n", npy);
  testing::expect_tensor<int16_t>(load_npy(npy), {3, 2}, {0, 1, 2, 3, 4, 5});
}

TEST(Checkpoint, NpyRoundTripAndErrors) {
  TempDir t;
  std::string path = (t.path / "x.npy").string();
  for (Tensor x : {tensor({true, false, true}), arange(12, dtype(kInt64)).reshape({2, 2, 3}), tensor(2.5, dtype(kFloat32))}) {
    save_npy(x, path);
    Tensor y = load_npy(path);
    EXPECT_EQ(y.dtype(), x.dtype());
    EXPECT_EQ(y.sizes(), x.sizes());
    EXPECT_TRUE(y.equal(x));
  }
  std::ofstream(path, std::ios::binary) << "not numpy";
  EXPECT_KILN_ERROR(load_npy(path), "load_npy", "magic");
}

TEST(Checkpoint, StreamsTensorsAndLists) {
  std::stringstream buffer;
  Tensor a = tensor({1.0, 2.0}), b = arange(3, dtype(kInt64));
  save(std::vector<Tensor>{a, b}, buffer);
  std::vector<Tensor> back;
  load(back, buffer);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_TRUE(back[0].equal(a));
  EXPECT_TRUE(back[1].equal(b));
  std::stringstream one;
  save(a.mul(3), one);
  Tensor c;
  load(c, one);
  testing::expect_tensor<float>(c, {2}, {3, 6});
}

TEST(Checkpoint, Float16AndBFloat16KeepTheirBits) {
  // safetensors (F16, BF16): the same bits back, NaN and -0 included.
  std::stringstream buffer;
  Tensor h = tensor({0.1, -0.0, 65504.0, kiln::testing::kNaN}, dtype(kFloat16));
  Tensor b = tensor({0.1, -3e38, 1e-40}, dtype(kBFloat16));
  save(std::map<std::string, Tensor>{{"h", h}, {"b", b}}, buffer);
  std::map<std::string, Tensor> back = load_tensors(buffer);
  ASSERT_EQ(back.at("h").dtype(), kFloat16);
  ASSERT_EQ(back.at("b").dtype(), kBFloat16);
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(back.at("h").data_ptr<Half>()[i].bits, h.data_ptr<Half>()[i].bits) << i;
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(back.at("b").data_ptr<BFloat16>()[i].bits, b.data_ptr<BFloat16>()[i].bits) << i;
  // .npy holds float16 ('<f2') but NumPy has no bfloat16.
  std::stringstream npy;
  save_npy(h, npy);
  Tensor h2 = load_npy(npy);
  ASSERT_EQ(h2.dtype(), kFloat16);
  EXPECT_EQ(h2.data_ptr<Half>()[2].bits, 0x7bff);
  std::stringstream rejected;
  EXPECT_KILN_ERROR(save_npy(b, rejected), "save_npy", "bfloat16");
}

// Trains a small model with Adam for `steps` steps on fixed data; returns each step's loss.
struct Training {
  nn::Linear model{4, 3};
  optim::Adam adam{model->parameters(), optim::AdamOptions(0.05)};
  Tensor x = arange(24, dtype(kFloat32)).reshape({6, 4}).div(10), y = tensor({0, 1, 2, 0, 1, 2});
  std::vector<float> train(int steps) {
    std::vector<float> losses;
    for (int i = 0; i < steps; ++i) {
      adam.zero_grad();
      Tensor loss = nn::functional::cross_entropy(model(x), y);
      loss.backward();
      adam.step();
      losses.push_back(loss.item<float>());
    }
    return losses;
  }
};

TEST(Checkpoint, ResumeGivesTheSameNextLossesAsUninterruptedTraining) {
  TempDir t;
  std::string model_path = (t.path / "model.safetensors").string(), optim_path = (t.path / "optim.safetensors").string();
  manual_seed(9);
  Training straight;
  std::vector<float> all = straight.train(8);
  manual_seed(9);
  Training first;
  first.train(5);
  save(first.model, model_path);
  save(first.adam, optim_path);
  manual_seed(123);  // a different initialization, replaced by the checkpoint
  Training resumed;
  load(resumed.model, model_path);
  load(resumed.adam, optim_path);
  std::vector<float> after = resumed.train(3);
  for (int i = 0; i < 3; ++i) EXPECT_FLOAT_EQ(after[i], all[5 + i]) << "step " << 5 + i;
  // Without the optimizer's state (fresh moments, step 0) the next loss differs.
  manual_seed(123);
  Training fresh_optimizer;
  load(fresh_optimizer.model, model_path);
  EXPECT_NE(fresh_optimizer.train(2)[1], all[6]);
}

TEST(Checkpoint, OptimizerStateMismatchesAreRejectedAndChangeNothing) {
  TempDir t;
  std::string path = (t.path / "sgd.safetensors").string();
  nn::Linear small(2, 2), big(3, 2);
  optim::SGD sgd(small->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  small(ones({1, 2})).sum().backward();
  sgd.step();
  save(sgd, path);
  std::map<std::string, Tensor> state = sgd.state_dict();
  EXPECT_EQ(state.size(), 3u);  // the lr and two momentum buffers
  EXPECT_TRUE(state.count("state.0.0.momentum_buffer"));
  optim::SGD other(big->parameters(), optim::SGDOptions(0.5).momentum(0.9));
  EXPECT_KILN_ERROR(load(other, path), "load", "state.0.0.momentum_buffer", "float32[2, 2]", "float32[2, 3]");
  EXPECT_DOUBLE_EQ(other.param_groups()[0].options().get_lr(), 0.5);  // unchanged
  optim::Adam adam(small->parameters());
  EXPECT_KILN_ERROR(load(adam, path), "load", "unexpected key");
  optim::SGD same(small->parameters(), optim::SGDOptions(0.7).momentum(0.9));
  load(same, path);
  EXPECT_DOUBLE_EQ(same.param_groups()[0].options().get_lr(), 0.1);
}

TEST(Checkpoint, ASaveKilledPartWayLeavesThePreviousFileIntact) {
  TempDir t;
  std::string path = (t.path / "big.safetensors").string();
  manual_seed(1);
  nn::Linear model(1000, 1000);
  save(model, path);
  std::vector<std::vector<double>> before = values_of(*model);
  // The probe dies of SIGXFSZ once its file passes 1 MiB, mid-way through 4 MB of weights.
  std::string probe = testing::helper_path("save_probe");
  int status = std::system(("/bin/sh -c 'ulimit -f 1024; exec " + probe + " " + path + "' 2>/dev/null").c_str());
  ASSERT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the probe was not stopped part-way";
  nn::Linear reloaded(1000, 1000);
  load(reloaded, path);
  EXPECT_EQ(values_of(*reloaded), before);
}

}  // namespace
}  // namespace kiln
