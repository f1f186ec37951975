// tally::Error and the check macros every layer uses. It lives in allocator/, the lowest layer,
// so that the allocator can throw it too.
#pragma once

#include <cstddef>
#include <source_location>
#include <stdexcept>
#include <string>

namespace tally {

// A failed check or library call: what was called, the code's name and where.
class Error : public std::runtime_error {
 public:
  Error(std::string call, std::string code, std::string detail,
        std::source_location where = std::source_location::current());

  const std::string& call() const { return call_; }
  const std::string& code() const { return code_; }
  const std::string& place() const { return place_; }

 private:
  std::string call_;
  std::string code_;
  std::string place_;
};

// Out of device memory. The message names what was asked and the state of the allocator;
// the allocator is consistent and usable after it is thrown.
class OutOfMemoryError : public Error {
 public:
  OutOfMemoryError(std::size_t requested, std::string detail,
                   std::source_location where = std::source_location::current());
  std::size_t requested() const { return requested_; }

 private:
  std::size_t requested_;
};

}  // namespace tally

// TALLY_CHECK(cond, message): throws tally::Error with code "check_failed" when cond is false.
#define TALLY_CHECK(cond, message)                                       \
  do {                                                                   \
    if (!(cond)) throw ::tally::Error(#cond, "check_failed", (message)); \
  } while (0)
