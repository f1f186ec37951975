// Fashion-MNIST (Xiao et al., 2017): 28x28 greyscale images of clothing in 10 classes, 60000 for
// training and 10000 for testing, read from the IDX files of Debian's dataset-fashion-mnist.
//
// The directory is, in order of precedence: the one passed to load_fashion_mnist(); the
// environment variable TALLY_DATA_DIR, when set and not empty; /usr/share/datasets/fashion-mnist.
// It must hold the four files under their original names, gzipped (train-images-idx3-ubyte.gz,
// train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) or as
// downloaded and unpacked (the same names without ".gz").
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

namespace tally::data {

inline constexpr std::string_view kFashionMnistDefaultDir = "/usr/share/datasets/fashion-mnist";
inline constexpr std::int64_t kFashionMnistRows = 28;
inline constexpr std::int64_t kFashionMnistCols = 28;
inline constexpr std::int64_t kFashionMnistPixels = kFashionMnistRows * kFashionMnistCols;
inline constexpr int kFashionMnistClasses = 10;
// The training set's pixel mean and standard deviation after scaling to [0, 1]; the loader
// normalises every split with these, as is customary.
inline constexpr float kFashionMnistMean = 0.2860f;
inline constexpr float kFashionMnistStd = 0.3530f;

enum class Split { train, test };

// A whole split in host memory, as on disk (see IdxArray for why not through the allocator):
// images with labels, or a token stream for language models.
struct Dataset {
  std::int64_t n = 0;
  std::vector<std::uint8_t> images;  // n x 28 x 28, row-major, 0 = background
  std::vector<std::uint8_t> labels;  // n, each < 10
  // A token dataset when seq_len > 0: sample i is tokens [i * seq_len, (i + 1) * seq_len), and
  // its labels are the tokens one position later, so tokens holds n * seq_len + 1 of them, each
  // below vocab. images and labels are then empty.
  std::int64_t seq_len = 0;
  std::int64_t vocab = 0;
  std::vector<std::int32_t> tokens;
};

// TALLY_DATA_DIR when set and not empty, else kFashionMnistDefaultDir.
std::filesystem::path fashion_mnist_dir();

// Loads `split` from `dir`, or from fashion_mnist_dir(). Throws tally::DataError
// with a one-line message for a missing file, a malformed IDX file (see read_idx), images not
// 28x28, a label 10 or above, or image and label counts that differ (naming both files).
Dataset load_fashion_mnist(Split split, const std::filesystem::path& dir);
Dataset load_fashion_mnist(Split split);

}  // namespace tally::data
