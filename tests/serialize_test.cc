// Checkpoints: modules and named tensors round-trip through safetensors files; truncated,
// corrupt, missing-key and wrong-shape files are rejected with kiln::Error naming the file and
// leave the module as it was; a save replaces the file atomically; and an independent reader
// (Python's standard library alone) gets the same numbers from a Kiln checkpoint.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "kiln/kiln.h"
#include "kiln/nn/modules.h"
#include "kiln/serialize.h"
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

}  // namespace
}  // namespace kiln
