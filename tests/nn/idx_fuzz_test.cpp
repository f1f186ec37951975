// The IDX reader against 10^5 mutations of plain files (half of them gzip-compressed after the
// mutation) and 10^5 mutations of gzip streams: each reads to as many bytes as its dimensions
// say or is rejected with a one-line data error naming the file.
#include <gtest/gtest.h>
#include <zlib.h>

#include <functional>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "allocator/error.h"
#include "nn/data/idx.h"
#include "tests/fuzz/input_file.h"
#include "tests/fuzz/reader_fuzz.h"
#include "tests/nn/idx_bytes.h"

namespace tally::data {
namespace {

// A u8 IDX file with as many bytes as `dims` say.
std::string idx_file(const std::vector<std::uint32_t>& dims) {
  const auto elements =
      std::accumulate(dims.begin(), dims.end(), std::size_t{1}, std::multiplies<>());
  const test::Bytes bytes = test::idx_bytes(0x08, dims, test::iota_bytes(elements));
  return {bytes.begin(), bytes.end()};
}

// A gzip member holding `bytes`. The inputs are small: a 512-byte window and the least memory
// (a few KiB, not gzip(1)'s 256) keep 10^5 compressions cheap under the sanitizers.
std::string gzip(const std::string& bytes) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 9 + 16, 1, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, bytes.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::vector<std::string> plain_seeds() {
  return {idx_file({3, 2, 4}), idx_file({5}), idx_file({0, 28, 28}), idx_file({2, 1, 1, 3})};
}

// Writes `input` to `file` and reads it; what was read must hold as many bytes as its dimensions
// say.
void write_and_read(const testing::InputFile& file, const std::string& input) {
  file.write(input);
  const IdxArray array = read_idx(file.path());
  const auto elements =
      std::accumulate(array.dims.begin(), array.dims.end(), std::int64_t{1}, std::multiplies<>());
  if (array.dims.empty() || static_cast<std::int64_t>(array.data.size()) != elements) {
    throw std::logic_error("read " + std::to_string(array.data.size()) + " bytes for " +
                           std::to_string(elements) + " elements");
  }
}

TEST(IdxFuzz, EveryMutatedFilePlainOrGzippedReadsOrIsAOneLineDataError) {
  const testing::InputFile file("tally_idx_fuzz", ".idx");
  testing::ReaderFuzz fuzz;
  fuzz.reader = "read_idx (plain, then gzipped)";
  fuzz.seeds = plain_seeds();
  fuzz.source = file.path().string() + ": ";
  bool compress = false;
  testing::fuzz_reader(fuzz, [&](const std::string& input) {
    compress = !compress;
    write_and_read(file, compress ? gzip(input) : input);
  });
}

TEST(IdxFuzz, EveryMutatedGzipStreamReadsOrIsAOneLineDataError) {
  const testing::InputFile file("tally_idx_fuzz", ".idx");
  testing::ReaderFuzz fuzz;
  fuzz.reader = "read_idx (gzip stream)";
  for (const std::string& seed : plain_seeds()) fuzz.seeds.push_back(gzip(seed));
  fuzz.source = file.path().string() + ": ";
  testing::fuzz_reader(fuzz, [&](const std::string& input) { write_and_read(file, input); });
}

}  // namespace
}  // namespace tally::data
