// The file a fuzz test writes each input to in turn, for the readers that take a path.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace tally::testing {

class InputFile {
 public:
  // <GoogleTest's temporary directory>/<stem>_<process id><extension>: tests that run at once
  // are processes of their own, and do not share it.
  InputFile(std::string_view stem, std::string_view extension);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Replaces the file with one holding `bytes`; throws std::runtime_error when it cannot, which
  // the fuzz driver reports rather than counting a rejection.
  void write(const std::string& bytes) const;

 private:
  std::filesystem::path path_;
};

}  // namespace tally::testing
