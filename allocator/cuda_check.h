// CUDA_CHECK: throws tally::Error naming the call, the error's name and the place.
// Included only by CUDA translation units.
#pragma once

#include <cuda_runtime_api.h>

#include "allocator/error.h"

// A failed runtime call also leaves its error as the thread's last error, which the next
// cudaGetLastError() (every CUDA_LAUNCH_CHECK) would report again, at an unrelated launch. The
// error is thrown here, so it is read and cleared first, as PyTorch's C10_CUDA_CHECK does. A
// sticky error (a kernel fault) cannot be cleared: every later call reports it.
#define CUDA_CHECK(call)                                                                       \
  do {                                                                                         \
    const cudaError_t tally_status_ = (call);                                                  \
    if (tally_status_ != cudaSuccess) {                                                        \
      static_cast<void>(cudaGetLastError());                                                   \
      throw ::tally::Error(::tally::ErrorKind::device, #call, cudaGetErrorName(tally_status_), \
                           cudaGetErrorString(tally_status_));                                 \
    }                                                                                          \
  } while (0)

// After every kernel launch: a bad configuration or an earlier asynchronous error surfaces here,
// at the launch that found it.
#define CUDA_LAUNCH_CHECK() CUDA_CHECK(cudaGetLastError())
