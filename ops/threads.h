// How many threads the CPU kernels may use: OpenBLAS's pool for the GEMMs, and tally's own pool
// (ops/parallel.h) for every other CPU loop.
#pragma once

namespace tally::ops {

void set_num_threads(int threads);
int num_threads();

}  // namespace tally::ops
