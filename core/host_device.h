// TALLY_HD marks functions compiled for both the host and, under nvcc, the device, so that
// elementwise math and conversions are written once for the CPU loop and the CUDA kernel.
#pragma once

#if defined(__CUDACC__)
#define TALLY_HD __host__ __device__ inline
#else
#define TALLY_HD inline
#endif
