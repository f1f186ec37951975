// NCCL, loaded when first needed rather than linked: libnccl is about 200 MB and not on every
// machine with a GPU, and a program that never makes a cuda process group (every tally command
// but a multi-GPU run) should start without it. The header's declarations give the types;
// compiled only with NCCL.
#pragma once

#include <nccl.h>

#include <string>

namespace tally::dist {

struct NcclLibrary {
  std::string path;  // what was loaded: the soname through the loader's path, or the build's copy
  decltype(&ncclGetVersion) get_version = nullptr;
  decltype(&ncclGetErrorString) get_error_string = nullptr;
  decltype(&ncclGetUniqueId) get_unique_id = nullptr;
  decltype(&ncclCommInitRank) comm_init_rank = nullptr;
  decltype(&ncclCommDestroy) comm_destroy = nullptr;
  decltype(&ncclCommAbort) comm_abort = nullptr;
  decltype(&ncclCommGetAsyncError) comm_get_async_error = nullptr;
  decltype(&ncclAllReduce) all_reduce = nullptr;
  decltype(&ncclReduceScatter) reduce_scatter = nullptr;
  decltype(&ncclAllGather) all_gather = nullptr;
  decltype(&ncclBroadcast) broadcast = nullptr;
};

// libnccl.so.2 through the loader's path (LD_LIBRARY_PATH, the cache), else the library the build
// found; loaded on the first call. A device error saying why when neither loads or a function is
// missing.
const NcclLibrary& nccl();

// NCCL's version as loaded, "2.28.9".
std::string nccl_version();

}  // namespace tally::dist
