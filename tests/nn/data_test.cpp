// Data loading: the IDX reader against small files written here (plain and gzipped), each of its
// error cases, the Fashion-MNIST loader's checks, and the batch loader's order, shapes and
// normalisation. One test reads the real dataset when it is installed.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "allocator/cuda_device.h"
#include "allocator/error.h"
#include "nn/data/fashion_mnist.h"
#include "nn/data/idx.h"
#include "nn/data/loader.h"
#include "nn/data/tokens.h"
#include "tally/build_config.h"
#include "tests/nn/idx_bytes.h"

namespace tally::data {
namespace {

namespace fs = std::filesystem;
using test::Bytes;
using test::idx_bytes;
using test::iota_bytes;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "tally_data_test_XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Sets an environment variable for one test and puts the old value back.
class EnvGuard {
 public:
  EnvGuard(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~EnvGuard() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

void write_plain(const fs::path& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

void write_gz(const fs::path& path, const Bytes& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

Bytes read_plain(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// Runs `f`, which must throw a tally::Error of `kind` whose one-line message holds every one of
// `parts`.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts,
                  ErrorKind kind = ErrorKind::data) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << parts.front() << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind);
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    for (const std::string& part : parts) {
      EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
    }
  }
}

void expect_idx_error(const fs::path& path, const std::vector<std::string>& parts) {
  std::vector<std::string> all{path.string()};
  all.insert(all.end(), parts.begin(), parts.end());
  expect_error([&] { read_idx(path); }, all);
}

TEST(Idx, RoundTripsDimsAndBytesPlainAndGzipped) {
  TempDir dir;
  const Bytes images = iota_bytes(3 * 2 * 4);
  const Bytes labels{9, 0, 3};
  write_plain(dir.path() / "images", idx_bytes(0x08, {3, 2, 4}, images));
  write_gz(dir.path() / "images.gz", idx_bytes(0x08, {3, 2, 4}, images));
  write_gz(dir.path() / "labels.gz", idx_bytes(0x08, {3}, labels));
  for (const char* name : {"images", "images.gz"}) {
    const IdxArray a = read_idx(dir.path() / name);
    EXPECT_EQ(a.dims, (std::vector<std::int64_t>{3, 2, 4})) << name;
    EXPECT_EQ(a.data, images) << name;
  }
  const IdxArray l = read_idx(dir.path() / "labels.gz");
  EXPECT_EQ(l.dims, (std::vector<std::int64_t>{3}));
  EXPECT_EQ(l.data, labels);
}

TEST(Idx, ReadsAnEmptyArray) {
  TempDir dir;
  write_plain(dir.path() / "empty", idx_bytes(0x08, {0, 28, 28}, {}));
  const IdxArray a = read_idx(dir.path() / "empty");
  EXPECT_EQ(a.dims, (std::vector<std::int64_t>{0, 28, 28}));
  EXPECT_TRUE(a.data.empty());
}

TEST(Idx, EachMalformedFileGivesAOneLineErrorNamingFileAndProblem) {
  TempDir dir;
  const fs::path p = dir.path();
  expect_idx_error(p / "missing.gz", {"no such file"});
  expect_idx_error(p, {"is a directory"});

  write_plain(p / "magic", {0x12, 0x34, 0x08, 0x01, 0, 0, 0, 0});
  expect_idx_error(p / "magic", {"not an IDX file", "0x12340801"});
  write_plain(p / "type", {0, 0, 0x07, 0x01, 0, 0, 0, 0});
  expect_idx_error(p / "type", {"not an IDX file", "0x00000701"});
  write_plain(p / "rank", {0, 0, 0x08, 0x00});
  expect_idx_error(p / "rank", {"not an IDX file"});
  write_plain(p / "float", idx_bytes(0x0D, {1}, {0, 0, 0, 0}));
  expect_idx_error(p / "float", {"unsupported element type float", "0x00000d01"});

  write_plain(p / "short_magic", {0, 0, 0x08});
  expect_idx_error(p / "short_magic", {"truncated header", "found 3"});
  write_plain(p / "short_dims", {0, 0, 0x08, 0x03, 0, 0, 0, 2});
  expect_idx_error(p / "short_dims", {"truncated header", "expected 16 bytes", "found 8"});

  write_plain(p / "short_data", idx_bytes(0x08, {2, 3}, iota_bytes(4)));
  expect_idx_error(p / "short_data", {"truncated data", "expected 6 bytes, found 4"});
  write_gz(p / "short_data.gz", idx_bytes(0x08, {2, 3}, iota_bytes(4)));
  expect_idx_error(p / "short_data.gz", {"truncated data", "expected 6 bytes, found 4"});

  write_plain(p / "trailing", idx_bytes(0x08, {2}, iota_bytes(5)));
  expect_idx_error(p / "trailing", {"trailing garbage", "3 byte(s)"});
  write_gz(p / "trailing.gz", idx_bytes(0x08, {2}, iota_bytes(5)));
  expect_idx_error(p / "trailing.gz", {"trailing garbage", "3 byte(s)"});
}

TEST(Idx, CorruptGzipStreamsAreReportedAsSuch) {
  TempDir dir;
  const fs::path good = dir.path() / "good.gz";
  write_gz(good, idx_bytes(0x08, {100, 28, 28}, iota_bytes(100 * 28 * 28)));
  const Bytes gz = read_plain(good);

  Bytes bad_crc = gz;
  bad_crc[bad_crc.size() - 8] ^= 0xFF;  // the trailer: CRC-32, then the length
  write_plain(dir.path() / "crc.gz", bad_crc);
  expect_idx_error(dir.path() / "crc.gz", {"corrupt gzip stream"});

  const Bytes cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2));
  write_plain(dir.path() / "cut.gz", cut);
  expect_idx_error(dir.path() / "cut.gz", {"corrupt gzip stream"});

  write_plain(dir.path() / "fake.gz", {0x1f, 0x8b, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42});
  expect_idx_error(dir.path() / "fake.gz", {"corrupt gzip stream"});
}

// A fake Fashion-MNIST split: image i has pixel 0 = i and every other pixel = 200.
void write_split(const fs::path& dir, const std::string& prefix, std::uint32_t images,
                 std::uint32_t labels, bool gzip = true) {
  Bytes pixels(images * 784, 200);
  for (std::uint32_t i = 0; i < images; ++i) pixels[i * 784] = static_cast<std::uint8_t>(i);
  Bytes label_bytes(labels);
  for (std::uint32_t i = 0; i < labels; ++i) label_bytes[i] = static_cast<std::uint8_t>(i % 10);
  const std::string ext = gzip ? ".gz" : "";
  const auto write = gzip ? write_gz : write_plain;
  write(dir / (prefix + "-images-idx3-ubyte" + ext), idx_bytes(0x08, {images, 28, 28}, pixels));
  write(dir / (prefix + "-labels-idx1-ubyte" + ext), idx_bytes(0x08, {labels}, label_bytes));
}

TEST(FashionMnist, LoadsBothSplitsFromTallyDataDirGzippedOrNot) {
  TempDir dir;
  write_split(dir.path(), "train", 12, 12);
  write_split(dir.path(), "t10k", 3, 3, /*gzip=*/false);
  const EnvGuard env("TALLY_DATA_DIR", dir.path().string());
  EXPECT_EQ(fashion_mnist_dir(), dir.path());

  const Dataset train = load_fashion_mnist(Split::train);
  EXPECT_EQ(train.n, 12);
  EXPECT_EQ(train.images.size(), 12u * 784);
  EXPECT_EQ(train.images[5 * 784], 5);
  EXPECT_EQ(train.images[5 * 784 + 1], 200);
  EXPECT_EQ(train.labels[11], 1);
  EXPECT_EQ(load_fashion_mnist(Split::test).n, 3);
}

TEST(FashionMnist, DefaultsToTheDebianDirectory) {
  const EnvGuard env("TALLY_DATA_DIR", "");
  EXPECT_EQ(fashion_mnist_dir(), fs::path("/usr/share/datasets/fashion-mnist"));
}

TEST(FashionMnist, InconsistentFilesGiveOneLineErrors) {
  TempDir dir;
  const fs::path p = dir.path();
  const std::string images = (p / "train-images-idx3-ubyte.gz").string();
  const std::string labels = (p / "train-labels-idx1-ubyte.gz").string();
  expect_error([&] { load_fashion_mnist(Split::train, p); },
               {"training images not found", images, "TALLY_DATA_DIR"});

  write_split(p, "train", 3, 2);
  expect_error([&] { load_fashion_mnist(Split::train, p); },
               {images, "3 images", labels, "2 labels"});

  write_gz(p / "train-labels-idx1-ubyte.gz", idx_bytes(0x08, {3}, {1, 10, 2}));
  expect_error([&] { load_fashion_mnist(Split::train, p); },
               {labels, "label 10 at index 1 is out of range"});

  write_gz(p / "train-images-idx3-ubyte.gz", idx_bytes(0x08, {3, 28, 27}, Bytes(3 * 28 * 27)));
  expect_error([&] { load_fashion_mnist(Split::train, p); },
               {images, "expected images of shape [n, 28, 28], got [3, 28, 27]"});
}

TEST(EpochOrder, IsAPermutationFixedBySeedAndEpoch) {
  for (std::int64_t n : {0, 1, 2, 7, 1000}) {
    std::vector<std::int64_t> order = epoch_order(n, 5, 3);
    std::sort(order.begin(), order.end());
    std::vector<std::int64_t> every(static_cast<std::size_t>(n));
    std::iota(every.begin(), every.end(), std::int64_t{0});
    EXPECT_EQ(order, every) << "n = " << n;
  }
  EXPECT_EQ(epoch_order(1000, 5, 3), epoch_order(1000, 5, 3));
  EXPECT_NE(epoch_order(1000, 5, 3), epoch_order(1000, 5, 4));
  EXPECT_NE(epoch_order(1000, 5, 3), epoch_order(1000, 6, 3));
  // Pinned (and checked against an independent Python transcription of Philox 4x32-10 and the
  // draw) so that a change of generator or draw, which would silently change every experiment's
  // data order, fails here.
  EXPECT_EQ(epoch_order(10, 42, 0), (std::vector<std::int64_t>{6, 2, 1, 8, 4, 3, 0, 5, 7, 9}));
}

Dataset indexed_dataset(std::int64_t n) {
  Dataset d{n, Bytes(static_cast<std::size_t>(n) * 784, 200), Bytes(static_cast<std::size_t>(n))};
  for (std::int64_t i = 0; i < n; ++i) {
    d.images[static_cast<std::size_t>(i) * 784] = static_cast<std::uint8_t>(i);
    d.labels[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i % 10);
  }
  return d;
}

float normalised(int pixel) {
  return (static_cast<float>(pixel) / 255.0f - 0.2860f) / 0.3530f;
}

// The dataset indices of a batch of indexed_dataset(), recovered from pixel 0 of each image.
std::vector<std::int64_t> indices_of(const Batch& batch) {
  const std::vector<float> pixels = batch.inputs.to_floats();
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < pixels.size(); i += 784) {
    for (int v = 0; v < 256; ++v) {
      if (pixels[i] == normalised(v)) out.push_back(v);
    }
  }
  return out;
}

TEST(BatchLoader, VisitsEverySampleOncePerEpochInTheSeededOrder) {
  const Dataset d = indexed_dataset(10);
  BatchLoader loader(d, {.batch_size = 4, .seed = 7});
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  for (std::int64_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<std::int64_t> seen;
    for (std::int64_t size : {4, 4, 2}) {
      const Batch b = loader.next();
      EXPECT_EQ(loader.epoch(), epoch);  // the first next() after an epoch's end starts the next
      EXPECT_EQ(b.inputs.shape(), (Shape{size, 1, 28, 28}));
      EXPECT_EQ(b.labels.shape(), (Shape{size}));
      const std::vector<std::int64_t> indices = indices_of(b);
      for (std::size_t i = 0; i < indices.size(); ++i) {
        EXPECT_EQ(b.labels.data<std::int64_t>()[i], indices[i] % 10);
      }
      seen.insert(seen.end(), indices.begin(), indices.end());
    }
    EXPECT_EQ(seen, epoch_order(10, 7, static_cast<std::uint64_t>(epoch)));
  }
  loader.set_epoch(1);
  const std::vector<std::int64_t> order = epoch_order(10, 7, 1);
  EXPECT_EQ(indices_of(loader.next()),
            (std::vector<std::int64_t>(order.begin(), order.begin() + 4)));
  EXPECT_EQ(loader.batch_index(), 1);
}

TEST(BatchLoader, DropLastSkipsTheShortBatchAndUnshuffledKeepsDatasetOrder) {
  const Dataset d = indexed_dataset(10);
  BatchLoader loader(d, {.batch_size = 4, .shuffle = false, .drop_last = true});
  EXPECT_EQ(loader.batches_per_epoch(), 2);
  EXPECT_EQ(indices_of(loader.next()), (std::vector<std::int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(indices_of(loader.next()), (std::vector<std::int64_t>{4, 5, 6, 7}));
  EXPECT_EQ(indices_of(loader.next()), (std::vector<std::int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(loader.epoch(), 1);
  EXPECT_EQ(BatchLoader(d, {.batch_size = 5, .drop_last = true}).batches_per_epoch(), 2);
  EXPECT_EQ(BatchLoader(d, {.batch_size = 11}).batches_per_epoch(), 1);
}

// Data parallelism: 3 shards of batch 2 draw one batch of 6 per step from the same order, and
// shard r takes its r-th slice; the last, partial batch of 4 (22 = 3 * 6 + 4) splits [0, 1),
// [1, 2), [2, 4) by floor(r * 4 / 3).
TEST(BatchLoader, ShardsSplitEachStepsBatchInRankOrder) {
  const Dataset d = indexed_dataset(22);
  const std::vector<std::int64_t> order = epoch_order(22, 3, 0);
  std::vector<std::int64_t> seen;
  for (std::int64_t shard = 0; shard < 3; ++shard) {
    BatchLoader loader(d, {.batch_size = 2, .seed = 3, .shards = 3, .shard = shard});
    EXPECT_EQ(loader.batches_per_epoch(), 4);
    for (std::int64_t step = 0; step < 3; ++step) {
      const std::int64_t at = step * 6 + shard * 2;
      EXPECT_EQ(indices_of(loader.next()),
                (std::vector<std::int64_t>(order.begin() + at, order.begin() + at + 2)));
    }
    const std::vector<std::int64_t> last = indices_of(loader.next());
    EXPECT_EQ(last.size(), shard == 2 ? 2u : 1u);
    seen.insert(seen.end(), last.begin(), last.end());
  }
  EXPECT_EQ(seen, (std::vector<std::int64_t>(order.begin() + 18, order.end())));
  EXPECT_EQ(BatchLoader(d, {.batch_size = 2, .drop_last = true, .shards = 3}).batches_per_epoch(),
            3);
  EXPECT_THROW(BatchLoader(d, {.batch_size = 2, .shards = 3, .shard = 3}), UsageError);
}

TEST(BatchLoader, NormalisesWithTheFashionMnistMeanAndStd) {
  Dataset d = indexed_dataset(1);
  d.images[1] = 255;
  const Batch b = BatchLoader(d, {.batch_size = 1}).next();
  EXPECT_EQ(b.inputs.dtype(), DType::f32);
  EXPECT_EQ(b.labels.dtype(), DType::i64);
  EXPECT_EQ(b.inputs.tag(), Tag::other);
  EXPECT_EQ(b.labels.tag(), Tag::other);
  const float* pixels = b.inputs.data<float>();
  // By hand: (0 / 255 - 0.2860) / 0.3530, (255 / 255 - 0.2860) / 0.3530, (200 / 255 - 0.2860) /
  // 0.3530.
  EXPECT_NEAR(pixels[0], -0.8101983f, 1e-6);
  EXPECT_NEAR(pixels[1], 2.0226629f, 1e-6);
  EXPECT_NEAR(pixels[2], 1.4116536f, 1e-6);
}

TEST(BatchLoader, SimAllocatesWithoutData) {
  const Dataset d = indexed_dataset(10);
  const Batch b = BatchLoader(d, {.batch_size = 8, .device = Device::parse("sim")}).next();
  EXPECT_EQ(b.inputs.device(), Device::parse("sim"));
  EXPECT_EQ(b.inputs.shape(), (Shape{8, 1, 28, 28}));
  EXPECT_EQ(b.labels.shape(), (Shape{8}));
}

// With a GPU the cuda batch holds the cpu batch's values; without one, asking for it says why.
TEST(BatchLoader, CudaBatchesEqualCpuBatchesOrSayWhyNot) {
  const Dataset d = indexed_dataset(10);
  const Device cuda = Device::parse("cuda:0");
  if (probe_cuda().devices.empty()) {
    expect_error([&] { BatchLoader(d, {.batch_size = 4, .device = cuda}).next(); },
                 {"cuda:0 unavailable", probe_cuda().reason},
                 TALLY_WITH_CUDA ? ErrorKind::device : ErrorKind::usage);
    return;
  }
  const Batch on_cuda = BatchLoader(d, {.batch_size = 4, .seed = 5, .device = cuda}).next();
  const Batch on_cpu = BatchLoader(d, {.batch_size = 4, .seed = 5}).next();
  EXPECT_EQ(on_cuda.inputs.device(), cuda);
  EXPECT_EQ(on_cuda.inputs.to_floats(), on_cpu.inputs.to_floats());
  EXPECT_EQ(on_cuda.labels.to_floats(), on_cpu.labels.to_floats());
}

TEST(BatchLoader, RejectsBadOptions) {
  const Dataset d = indexed_dataset(10);
  expect_error([&] { BatchLoader(d, {.batch_size = 0}); }, {"batch size must be positive"},
               ErrorKind::usage);
  expect_error([&] { BatchLoader(d, {.batch_size = 11, .drop_last = true}); },
               {"no batches", "10 samples", "batch size 11"}, ErrorKind::usage);
  Dataset broken = indexed_dataset(10);
  broken.labels.pop_back();
  expect_error([&] { BatchLoader(broken, {}); }, {"inconsistent dataset"}, ErrorKind::usage);
}

// A text of bytes 0, 1, 2, ...: window i holds i * T .. i * T + T - 1 and its labels are the
// next bytes, so every position's label is its token plus one.
TEST(TokenBatches, AreWindowsAndTheirNextTokens) {
  const fs::path path = fs::path(::testing::TempDir()) / "tokens.txt";
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 100; ++i) out.put(static_cast<char>(i));
  }
  const Dataset train = text_tokens(path, Split::train, 8);
  EXPECT_EQ(train.n, 11);  // the first 90 bytes: (90 - 1) / 8 windows
  EXPECT_EQ(train.tokens.size(), 11u * 8 + 1);
  EXPECT_EQ(train.vocab, 256);
  const Dataset test = text_tokens(path, Split::test, 8);
  EXPECT_EQ(test.n, 1);
  EXPECT_EQ(test.tokens.front(), 90);
  BatchLoader loader(train, {.batch_size = 3, .shuffle = false});
  const Batch b = loader.next();
  EXPECT_EQ(b.inputs.shape(), (Shape{3, 8}));
  EXPECT_EQ(b.inputs.dtype(), DType::i64);
  EXPECT_EQ(b.labels.shape(), (Shape{24}));
  const std::vector<float> inputs = b.inputs.to_floats(), labels = b.labels.to_floats();
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ(inputs[i], static_cast<float>(i));
    EXPECT_EQ(labels[i], inputs[i] + 1);
  }
  EXPECT_THROW(text_tokens(path, Split::test, 10), DataError);  // 10 test bytes, 11 needed
  EXPECT_THROW(text_tokens(fs::path(::testing::TempDir()) / "absent.txt", Split::train, 8),
               DataError);
}

TEST(TokenBatches, SyntheticTokensStayInTheVocabularyAndRepeat) {
  const Dataset a = synthetic_tokens(Split::train, 50257, 16);
  EXPECT_EQ(a.n, 1024);
  EXPECT_EQ(a.tokens, synthetic_tokens(Split::train, 50257, 16).tokens);
  EXPECT_NE(a.tokens, synthetic_tokens(Split::test, 50257, 16).tokens);
  EXPECT_LT(*std::max_element(a.tokens.begin(), a.tokens.end()), 50257);
  EXPECT_GE(*std::min_element(a.tokens.begin(), a.tokens.end()), 0);
  EXPECT_GT(*std::max_element(a.tokens.begin(), a.tokens.end()), 50000);
  Dataset shapes;
  shapes.n = 4;
  shapes.seq_len = 16;
  const Batch b = BatchLoader(shapes, {.batch_size = 4, .device = Device::parse("sim")}).next();
  EXPECT_EQ(b.inputs.shape(), (Shape{4, 16}));
  EXPECT_EQ(b.labels.shape(), (Shape{64}));
}

TEST(FashionMnist, RealDatasetHasTheDocumentedSizesClassesAndStatistics) {
  const fs::path dir = fashion_mnist_dir();
  if (!fs::exists(dir / "train-images-idx3-ubyte.gz") ||
      !fs::exists(dir / "t10k-labels-idx1-ubyte.gz")) {
    GTEST_SKIP() << "Fashion-MNIST is not installed in " << dir
                 << " (apt-get install dataset-fashion-mnist, or set TALLY_DATA_DIR)";
  }
  const Dataset train = load_fashion_mnist(Split::train);
  const Dataset test = load_fashion_mnist(Split::test);
  ASSERT_EQ(train.n, 60000);
  ASSERT_EQ(test.n, 10000);
  std::vector<int> train_counts(10), test_counts(10);
  for (std::uint8_t label : train.labels) ++train_counts[label];
  for (std::uint8_t label : test.labels) ++test_counts[label];
  EXPECT_EQ(train_counts, std::vector<int>(10, 6000));
  EXPECT_EQ(test_counts, std::vector<int>(10, 1000));

  double sum = 0, sum_sq = 0;
  for (std::uint8_t v : train.images) {
    sum += v / 255.0;
    sum_sq += (v / 255.0) * (v / 255.0);
  }
  const double mean = sum / static_cast<double>(train.images.size());
  const double std = std::sqrt(sum_sq / static_cast<double>(train.images.size()) - mean * mean);
  EXPECT_NEAR(mean, kFashionMnistMean, 5e-4);
  EXPECT_NEAR(std, kFashionMnistStd, 5e-4);
}

}  // namespace
}  // namespace tally::data
