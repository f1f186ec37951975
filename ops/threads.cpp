#include "ops/threads.h"

#include <cblas.h>

#include "ops/op_util.h"
#include "ops/parallel.h"

namespace tally::ops {

void set_num_threads(int threads) {
  if (threads < 1)
    throw UsageError("set_num_threads: thread count must be at least 1, got " +
                     std::to_string(threads));
  openblas_set_num_threads(threads);
  // OpenBLAS caps the count at the most it was built for: both pools take the count it kept.
  detail::resize_pool(num_threads());
}

int num_threads() {
  return openblas_get_num_threads();
}

}  // namespace tally::ops
