#include "nn/data/fashion_mnist.h"

#include <cstdlib>
#include <string>

#include "allocator/error.h"
#include "core/tensor.h"
#include "nn/data/idx.h"

namespace tally::data {
namespace {

// The gzipped file Debian ships, else the unpacked one people get from the original download.
std::filesystem::path find_file(const std::filesystem::path& dir, const std::string& name,
                                std::string_view what) {
  std::error_code ec;
  for (const std::string& candidate : {name + ".gz", name}) {
    if (std::filesystem::exists(dir / candidate, ec)) return dir / candidate;
  }
  throw DataError("Fashion-MNIST " + std::string(what) + " not found: neither " +
                  (dir / name).string() + ".gz nor " + name +
                  " exists (install the Debian package dataset-fashion-mnist, or set " +
                  "TALLY_DATA_DIR to a directory holding the IDX files)");
}

}  // namespace

std::filesystem::path fashion_mnist_dir() {
  const char* env = std::getenv("TALLY_DATA_DIR");
  return env && *env ? std::filesystem::path(env) : std::filesystem::path(kFashionMnistDefaultDir);
}

Dataset load_fashion_mnist(Split split, const std::filesystem::path& dir) {
  const std::string prefix = split == Split::train ? "train" : "t10k";
  const std::string split_name = split == Split::train ? "training" : "test";
  const auto images_path = find_file(dir, prefix + "-images-idx3-ubyte", split_name + " images");
  const auto labels_path = find_file(dir, prefix + "-labels-idx1-ubyte", split_name + " labels");

  IdxArray images = read_idx(images_path);
  if (images.dims.size() != 3 || images.dims[1] != kFashionMnistRows ||
      images.dims[2] != kFashionMnistCols) {
    throw DataError(images_path.string() + ": expected images of shape [n, 28, 28], got " +
                    shape_str(images.dims));
  }
  IdxArray labels = read_idx(labels_path);
  if (labels.dims.size() != 1) {
    throw DataError(labels_path.string() + ": expected labels of shape [n], got " +
                    shape_str(labels.dims));
  }
  if (images.dims[0] != labels.dims[0]) {
    throw DataError("Fashion-MNIST " + split_name + " split: " + images_path.string() + " holds " +
                    std::to_string(images.dims[0]) + " images but " + labels_path.string() +
                    " holds " + std::to_string(labels.dims[0]) + " labels");
  }
  for (std::size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] >= kFashionMnistClasses) {
      throw DataError(labels_path.string() + ": label " + std::to_string(labels.data[i]) +
                      " at index " + std::to_string(i) + " is out of range (expected 0 to 9)");
    }
  }
  Dataset d;
  d.n = images.dims[0];
  d.images = std::move(images.data);
  d.labels = std::move(labels.data);
  return d;
}

Dataset load_fashion_mnist(Split split) {
  return load_fashion_mnist(split, fashion_mnist_dir());
}

}  // namespace tally::data
