// How many threads the CPU kernels may use (OpenBLAS's pool; tally's own loops are
// single-threaded).
#pragma once

namespace tally::ops {

void set_num_threads(int threads);
int num_threads();

}  // namespace tally::ops
