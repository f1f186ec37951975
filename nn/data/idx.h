// A reader for IDX files, the format MNIST and Fashion-MNIST ship in: a big-endian header (magic
// 0x0000TTNN with element type TT and NN dimensions, then NN 32-bit sizes) followed by the
// elements in row-major order. Only unsigned bytes (TT = 0x08) are supported, which covers every
// MNIST-style image and label file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace tally::data {

// An IDX file's contents. They stay in host memory: this is the dataset as it lies on disk, not
// device memory, so it does not go through tally's allocator.
struct IdxArray {
  std::vector<std::int64_t> dims;  // e.g. [n, rows, cols] for images, [n] for labels
  std::vector<std::uint8_t> data;  // the product of dims, row-major
};

// Reads a gzip-compressed or plain IDX file of unsigned bytes; zlib tells the two apart by the
// gzip magic (1f 8b). Any problem throws tally::DataError with a one-line
// message "<path>: <problem>": no such file, not an IDX file (bad magic), unsupported element
// type, truncated header, truncated data (bytes expected and found), trailing garbage, corrupt
// gzip stream.
IdxArray read_idx(const std::filesystem::path& path);

}  // namespace tally::data
