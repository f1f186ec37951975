// The round trip the fuzz tests check for readers of files tally writes itself (traces, conv
// algorithm tables): what a reader accepts, the writer writes and the reader reads back equal.
#pragma once

#include <istream>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "allocator/error.h"

namespace tally::testing {

template <typename T>
using CsvWrite = void (*)(const T&, std::ostream&);
template <typename T>
using CsvRead = T (*)(std::istream&, std::string_view source);

template <typename T>
std::string csv_of(const T& value, CsvWrite<T> write) {
  std::ostringstream out;
  write(value, out);
  return out.str();
}

// Reads `input` as `source`; when it parses, writes what was read and reads that back. Throws
// std::logic_error, which fails a fuzz test, when that is rejected or differs.
template <typename T>
void read_and_write_back(const std::string& input, std::string_view source, CsvRead<T> read,
                         CsvWrite<T> write) {
  std::istringstream in(input);
  const T value = read(in, source);
  std::istringstream again(csv_of(value, write));
  try {
    if (read(again, "again.csv") != value) {
      throw std::logic_error("read back different from what was written");
    }
  } catch (const Error& e) {
    throw std::logic_error(std::string("its own writing was rejected: ") + e.what());
  }
}

}  // namespace tally::testing
