// IDX files built byte by byte, for the tests of the IDX reader (data_test, idx_fuzz_test).
#pragma once

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

namespace tally::test {

using Bytes = std::vector<std::uint8_t>;

// An IDX file's bytes: magic 0x0000TTNN, big-endian sizes, then `payload` as is.
inline Bytes idx_bytes(std::uint8_t type, const std::vector<std::uint32_t>& dims,
                       const Bytes& payload) {
  Bytes out{0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back((d >> shift) & 0xFF);
  }
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// 0, 1, 2, ... wrapping at 256.
inline Bytes iota_bytes(std::size_t n) {
  Bytes out(n);
  std::iota(out.begin(), out.end(), std::uint8_t{0});
  return out;
}

}  // namespace tally::test
