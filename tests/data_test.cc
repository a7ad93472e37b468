// kiln::data as LibTorch users write it: IDX files (plain and gzip) and their errors, the MNIST
// dataset, Normalize and Stack, and the data loader's batches, samplers and workers; then an MLP
// trained on a slice of Fashion-MNIST (Debian's dataset-fashion-mnist, which tools/setup.sh
// installs) whose loss falls and accuracy rises.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "kiln/data/augment.h"
#include "kiln/data/data_loader.h"
#include "kiln/data/mnist.h"
#include "kiln/kiln.h"
#include "kiln/nn/modules.h"
#include "kiln/optim/optimizer.h"
#include "tests/testing.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using data::datasets::MNIST;
using testing::expect_tensor;

std::vector<unsigned char> idx(const std::vector<uint32_t>& shape, const std::vector<unsigned char>& values) {
  std::vector<unsigned char> out = {0, 0, 0x08, static_cast<unsigned char>(shape.size())};
  for (uint32_t d : shape)
    for (int b = 3; b >= 0; --b) out.push_back(static_cast<unsigned char>(d >> (8 * b)));
  out.insert(out.end(), values.begin(), values.end());
  return out;
}

void write(const fs::path& p, const std::vector<unsigned char>& bytes, bool gzip = false) {
  if (gzip) {
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("kiln_data_test_" + std::to_string(getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

// Five 2x2 "images" whose pixels are 10 * i + k, labels i % 3.
void write_dataset(const fs::path& dir, bool gzip) {
  std::vector<unsigned char> pixels, labels;
  for (unsigned char i = 0; i < 5; ++i) {
    for (unsigned char k = 0; k < 4; ++k) pixels.push_back(static_cast<unsigned char>(10 * i + k));
    labels.push_back(i % 3);
  }
  std::string gz = gzip ? ".gz" : "";
  write(dir / ("train-images-idx3-ubyte" + gz), idx({5, 2, 2}, pixels), gzip);
  write(dir / ("train-labels-idx1-ubyte" + gz), idx({5}, labels), gzip);
}

TEST(Idx, PlainAndGzipFilesAndTheirErrors) {
  TempDir t;
  write(t.path / "a", idx({2, 3}, {1, 2, 3, 4, 5, 255}));
  write(t.path / "b.gz", idx({2, 3}, {1, 2, 3, 4, 5, 255}), true);
  expect_tensor<int64_t>(data::datasets::read_idx((t.path / "a").string()), {2, 3}, {1, 2, 3, 4, 5, 255});
  expect_tensor<int64_t>(data::datasets::read_idx((t.path / "b").string()), {2, 3}, {1, 2, 3, 4, 5, 255});
  write(t.path / "short", idx({2, 3}, {1, 2, 3}));
  EXPECT_KILN_ERROR(data::datasets::read_idx((t.path / "short").string()), "MNIST", "short", "holds 3 data bytes",
                    "truncated");
  write(t.path / "magic", {1, 2, 3, 4, 5});
  EXPECT_KILN_ERROR(data::datasets::read_idx((t.path / "magic").string()), "MNIST", "bad magic number");
  EXPECT_KILN_ERROR(data::datasets::read_idx((t.path / "missing").string()), "MNIST", "missing", "no such file");
  std::vector<unsigned char> gz_bytes;
  write(t.path / "c.gz", idx({4}, {1, 2, 3, 4}), true);
  std::ifstream in(t.path / "c.gz", std::ios::binary);
  gz_bytes.assign(std::istreambuf_iterator<char>(in), {});
  gz_bytes.resize(gz_bytes.size() / 2);  // a download cut short
  write(t.path / "cut.gz", gz_bytes);
  EXPECT_KILN_ERROR(data::datasets::read_idx((t.path / "cut").string()), "MNIST", "cut");
}

TEST(Mnist, ExamplesTransformsAndLoaderBatches) {
  TempDir t;
  write_dataset(t.path, true);
  MNIST train(t.path.string());
  EXPECT_EQ(train.size().value(), 5u);
  data::Example<> e = train.get(3);
  EXPECT_EQ(e.data.sizes(), (Shape{1, 2, 2}));
  expect_tensor<double>(e.data, {1, 2, 2}, {30 / 255.0, 31 / 255.0, 32 / 255.0, 33 / 255.0}, 1e-6);
  EXPECT_EQ(e.target.item<int64_t>(), 0);

  auto dataset = MNIST(t.path.string()).map(data::transforms::Normalize<>(0.5, 0.25)).map(data::transforms::Stack<>());
  auto loader = data::make_data_loader<data::samplers::SequentialSampler>(std::move(dataset),
                                                                          data::DataLoaderOptions().batch_size(2));
  std::vector<int64_t> sizes, targets;
  for (auto& batch : *loader) {
    sizes.push_back(batch.data.size(0));
    for (int64_t v : batch.target.to_vector<int64_t>()) targets.push_back(v);
    EXPECT_EQ(batch.data.sizes().vec(), (Shape{batch.data.size(0), 1, 2, 2}));
  }
  EXPECT_EQ(sizes, (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(targets, (std::vector<int64_t>{0, 1, 2, 0, 1}));
  for (auto& batch : *loader) {  // a second epoch, and Normalize's value: (pixel / 255 - 0.5) / 0.25
    EXPECT_NEAR(batch.data.index({0, 0, 0, 1}).item<double>(), (1 / 255.0 - 0.5) / 0.25, 1e-6);
    break;
  }
  EXPECT_KILN_ERROR(MNIST((t.path / "nowhere").string()), "MNIST", "nowhere", "no such file");
}

TEST(DataLoader, RandomSamplerWorkersAndDropLast) {
  TempDir t;
  write_dataset(t.path, false);
  manual_seed(5);
  auto loader = data::make_data_loader(MNIST(t.path.string()).map(data::transforms::Stack<>()),
                                       data::DataLoaderOptions().batch_size(2).workers(2).drop_last(true));
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::multiset<int64_t> seen;
    int batches = 0;
    for (auto& batch : *loader) {
      ++batches;
      EXPECT_EQ(batch.data.size(0), 2);
      for (double p : batch.data.reshape({-1}).to_vector<double>()) seen.insert(static_cast<int64_t>(std::lround(p * 255)) / 10);
    }
    EXPECT_EQ(batches, 2);  // 5 examples, batches of 2, the last one dropped
    EXPECT_EQ(seen.size(), 16u);
    for (int64_t image : seen) EXPECT_EQ(seen.count(image), 4u);  // whole images, each at most once
  }
}

const char* kFashion = "/usr/share/datasets/fashion-mnist";

TEST(Augment, RandomCropTakesEveryWindowOfThePaddedImage) {
  // A 1x3x3 image 1..9, padded by 1 and cropped to 3x3: one of 9 windows of the 5x5 padded image.
  Tensor image = arange(1, 10, dtype(kFloat32)).reshape({1, 3, 3});
  std::vector<float> padded(25, 0.f);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 3; ++x) padded[(y + 1) * 5 + x + 1] = static_cast<float>(y * 3 + x + 1);
  data::transforms::RandomCrop crop(3, 1, /*seed=*/7);
  std::set<std::pair<int, int>> offsets;
  for (int draw = 0; draw < 200; ++draw) {
    std::vector<float> got = crop(image).to_vector<float>();
    bool found = false;
    for (int top = 0; top < 3 && !found; ++top)
      for (int left = 0; left < 3 && !found; ++left) {
        bool same = true;
        for (int y = 0; y < 3; ++y)
          for (int x = 0; x < 3; ++x) same &= got[y * 3 + x] == padded[(top + y) * 5 + left + x];
        if (same) offsets.insert({top, left}), found = true;
      }
    ASSERT_TRUE(found) << "draw " << draw << " is no window of the padded image";
  }
  EXPECT_EQ(offsets.size(), 9u);  // every window turns up
  EXPECT_THROW(data::transforms::RandomCrop(6, 1)(image), Error);
}

TEST(Augment, HorizontalFlipMirrorsRows) {
  Tensor image = arange(6, dtype(kFloat32)).reshape({2, 3});
  expect_tensor<float>(data::transforms::RandomHorizontalFlip(1.0)(image), {2, 3}, {2, 1, 0, 5, 4, 3});
  expect_tensor<float>(data::transforms::RandomHorizontalFlip(0.0)(image), {2, 3}, {0, 1, 2, 3, 4, 5});
  data::transforms::RandomHorizontalFlip half(0.5, 3);
  int flipped = 0;
  for (int i = 0; i < 400; ++i) flipped += half(image).to_vector<float>()[0] == 2;
  EXPECT_NEAR(flipped, 200, 40);
}

TEST(FashionMnist, TestSetHasTenBalancedClasses) {
  if (!fs::exists(kFashion)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  MNIST test(kFashion, MNIST::Mode::kTest);
  EXPECT_EQ(test.images().sizes(), (Shape{10000, 1, 28, 28}));
  Tensor counts = zeros({10}, dtype(kInt64)).scatter_add(0, test.targets(), ones({10000}, dtype(kInt64)));
  expect_tensor<int64_t>(counts, {10}, std::vector<int64_t>(10, 1000));
  EXPECT_GE(test.images().min().item<double>(), 0.0);
  EXPECT_LE(test.images().max().item<double>(), 1.0);
}

TEST(FashionMnist, AnMlpOnASliceLearns) {
  if (!fs::exists(kFashion)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  manual_seed(0);
  MNIST train(kFashion);
  Tensor x = train.images().slice(0, 0, 2048).reshape({2048, 784}).sub(0.2860).div(0.3530).eval();
  Tensor y = train.targets().slice(0, 0, 2048).eval();
  nn::Sequential model(nn::Linear(784, 128), nn::ReLU(), nn::Linear(128, 10));
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  auto accuracy = [&] {
    NoGradGuard no_grad;
    return model(x).argmax(1).eq(y).to(kFloat64).mean().item<double>();
  };
  double before = accuracy(), first_loss = 0, last_loss = 0;
  for (int epoch = 0; epoch < 3; ++epoch)
    for (int64_t b = 0; b < 2048; b += 64) {
      opt.zero_grad();
      Tensor loss = nn::functional::cross_entropy(model(x.slice(0, b, b + 64)), y.slice(0, b, b + 64));
      loss.backward();
      opt.step();
      if (epoch == 0 && b == 0) first_loss = loss.item<double>();
      last_loss = loss.item<double>();
    }
  double after = accuracy();
  EXPECT_LT(last_loss, 0.5 * first_loss);
  EXPECT_LT(before, 0.3);  // about one class in ten before training
  EXPECT_GT(after, before + 0.5);  // 0.76 here after 96 steps, on the examples it saw
}

}  // namespace
}  // namespace kiln
