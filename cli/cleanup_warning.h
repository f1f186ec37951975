// The errors that cleanup recorded instead of throwing (allocator/cleanup_errors.h), reported
// at the end of every `tally` command, whether it succeeded or failed.
#pragma once

#include <iosfwd>

namespace tally::cli {

// One line on `out` when cleanup recorded errors (cleanup_errors_summary). Nothing otherwise.
void warn_cleanup_errors(std::ostream& out);

// Calls warn_cleanup_errors(out) when its scope ends, however it ends. main makes one before
// the command runs: the line then comes after the command's output, and after the error line
// of a command that throws, whose tensors are freed as the exception unwinds.
class CleanupWarning {
 public:
  explicit CleanupWarning(std::ostream& out) : out_(out) {}
  ~CleanupWarning() { warn_cleanup_errors(out_); }
  CleanupWarning(const CleanupWarning&) = delete;
  CleanupWarning& operator=(const CleanupWarning&) = delete;

 private:
  std::ostream& out_;
};

}  // namespace tally::cli
