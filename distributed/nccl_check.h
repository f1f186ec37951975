// NCCL_CHECK: throws tally::Error naming the call, NCCL's result code and its message. Included
// only by translation units built with NCCL; the calls go through the library loaded at run time
// (distributed/nccl_library.h).
#pragma once

#include <nccl.h>

#include <string>

#include "allocator/error.h"
#include "distributed/nccl_library.h"

namespace tally::dist::detail {

inline std::string nccl_result_name(ncclResult_t result) {
  switch (result) {
    case ncclSuccess:
      return "ncclSuccess";
    case ncclUnhandledCudaError:
      return "ncclUnhandledCudaError";
    case ncclSystemError:
      return "ncclSystemError";
    case ncclInternalError:
      return "ncclInternalError";
    case ncclInvalidArgument:
      return "ncclInvalidArgument";
    case ncclInvalidUsage:
      return "ncclInvalidUsage";
    case ncclRemoteError:
      return "ncclRemoteError";
    case ncclInProgress:
      return "ncclInProgress";
    default:
      return "ncclResult " + std::to_string(static_cast<int>(result));
  }
}

}  // namespace tally::dist::detail

#define NCCL_CHECK(call)                                                                \
  do {                                                                                  \
    const ncclResult_t tally_nccl_status_ = (call);                                     \
    if (tally_nccl_status_ != ncclSuccess) {                                            \
      throw ::tally::Error(::tally::ErrorKind::device, #call,                           \
                           ::tally::dist::detail::nccl_result_name(tally_nccl_status_), \
                           ::tally::dist::nccl().get_error_string(tally_nccl_status_)); \
    }                                                                                   \
  } while (0)
