#include "allocator/cleanup_errors.h"

#include <mutex>

namespace tally {
namespace {

struct Record {
  std::mutex mutex;
  CleanupErrors errors;
};

// Never destroyed: destructors of other static objects may still record into it at exit.
Record& record() {
  static Record* instance = new Record;
  return *instance;
}

}  // namespace

CleanupErrors cleanup_errors() {
  Record& r = record();
  std::lock_guard lock(r.mutex);
  return r.errors;
}

void reset_cleanup_errors() {
  Record& r = record();
  std::lock_guard lock(r.mutex);
  r.errors = {};
}

std::string cleanup_errors_summary(const CleanupErrors& errors) {
  return std::to_string(errors.count) +
         " error(s) while freeing memory were recorded instead of thrown; the first: " +
         errors.first;
}

void record_cleanup_error(std::string_view where, std::string_view message) noexcept {
  Record& r = record();
  std::lock_guard lock(r.mutex);
  if (r.errors.count++ > 0) return;
  try {
    r.errors.first = std::string(where) + ": " + std::string(message);
  } catch (...) {
    // Out of host memory for the message: the count still says that something failed.
  }
}

}  // namespace tally
