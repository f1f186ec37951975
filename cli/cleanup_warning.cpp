#include "cli/cleanup_warning.h"

#include <ostream>

#include "allocator/cleanup_errors.h"

namespace tally::cli {

void warn_cleanup_errors(std::ostream& out) {
  const CleanupErrors errors = cleanup_errors();
  if (errors.count == 0) return;
  out << "tally: " << cleanup_errors_summary(errors) << '\n';
}

}  // namespace tally::cli
