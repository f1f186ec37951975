#include "tests/fuzz/input_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

namespace tally::testing {

InputFile::InputFile(std::string_view stem, std::string_view extension)
    : path_(std::filesystem::path(::testing::TempDir()) /
            (std::string(stem) + "_" + std::to_string(getpid()) + std::string(extension))) {}

InputFile::~InputFile() {
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

void InputFile::write(const std::string& bytes) const {
  // A new file each time: ext4 flushes a file truncated and rewritten when it is closed.
  std::filesystem::remove(path_);
  std::ofstream out(path_, std::ios::binary);
  out << bytes;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path_.string());
}

}  // namespace tally::testing
