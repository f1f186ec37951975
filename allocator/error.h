// tally::Error, its kinds, and the check macros every layer uses. It lives in allocator/, the
// lowest layer, so that the allocator can throw it too.
#pragma once

#include <cstddef>
#include <source_location>
#include <stdexcept>
#include <string>

namespace tally {

// What went wrong, as a caller can act on it. The tally command maps each kind to its own exit
// status (exit_status below, the one place).
enum class ErrorKind {
  usage,          // the caller asked for something invalid: a bad flag, shape or configuration
  data,           // an input file or dataset is missing, unreadable or malformed, or an output
                  // file cannot be written
  out_of_memory,  // a device (or the configured limit) has no room for a request
  device,         // a CUDA, cuBLAS, cuDNN, NCCL or MPI call failed
  internal,       // a broken invariant inside tally: a bug
};

const char* error_kind_name(ErrorKind kind);
// The tally command's exit status for an error of this kind: usage 2, data 3, out-of-memory 4,
// device 5, internal 70 (sysexits' EX_SOFTWARE).
int exit_status(ErrorKind kind);

// A failed check or library call: its kind, what was called, the code's name and where.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string call, std::string code, std::string detail,
        std::source_location where = std::source_location::current());

  ErrorKind kind() const { return kind_; }
  const std::string& call() const { return call_; }
  const std::string& code() const { return code_; }
  const std::string& place() const { return place_; }

 private:
  ErrorKind kind_;
  std::string call_;
  std::string code_;
  std::string place_;
};

// Bad input from the caller: flags, shapes, dtypes, configuration strings.
class UsageError : public Error {
 public:
  explicit UsageError(std::string detail,
                      std::source_location where = std::source_location::current())
      : Error(ErrorKind::usage, "", "usage", std::move(detail), where) {}
};

// A file or dataset that is missing, unreadable or malformed; the message names it (and the line
// or offset where one applies).
class DataError : public Error {
 public:
  explicit DataError(std::string detail,
                     std::source_location where = std::source_location::current())
      : Error(ErrorKind::data, "", "data", std::move(detail), where) {}
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

// TALLY_CHECK(cond, message): an internal invariant; throws tally::Error of kind internal.
#define TALLY_CHECK(cond, message)                                                          \
  do {                                                                                      \
    if (!(cond))                                                                            \
      throw ::tally::Error(::tally::ErrorKind::internal, #cond, "check_failed", (message)); \
  } while (0)
