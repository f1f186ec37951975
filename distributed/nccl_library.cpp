#include "distributed/nccl_library.h"

#include <dlfcn.h>

#include "allocator/error.h"
#include "tally/build_config.h"

namespace tally::dist {
namespace {

template <typename F>
void bind(void* handle, const std::string& path, const char* symbol, F& function) {
  function = reinterpret_cast<F>(dlsym(handle, symbol));
  if (!function) {
    throw Error(ErrorKind::device, "dlsym", "nccl_unavailable",
                path + " has no " + symbol + ": NCCL 2.12 or later is needed");
  }
}

NcclLibrary load() {
  NcclLibrary lib;
  std::string tried;
  void* handle = nullptr;
  for (const char* path : {"libnccl.so.2", build::kNcclLibraryPath}) {
    if (*path == '\0') continue;
    // Global, so that NCCL's plugins (libnccl-net.so) resolve against this copy.
    handle = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (handle) {
      lib.path = path;
      break;
    }
    const char* why = dlerror();
    tried += std::string(tried.empty() ? "" : "; ") + (why ? why : path);
  }
  if (!handle) {
    throw Error(ErrorKind::device, "dlopen", "nccl_unavailable",
                "NCCL could not be loaded (put libnccl.so.2 on LD_LIBRARY_PATH): " + tried);
  }
  // The handle stays open for the life of the process: communicators and streams use the code.
  bind(handle, lib.path, "ncclGetVersion", lib.get_version);
  bind(handle, lib.path, "ncclGetErrorString", lib.get_error_string);
  bind(handle, lib.path, "ncclGetUniqueId", lib.get_unique_id);
  bind(handle, lib.path, "ncclCommInitRank", lib.comm_init_rank);
  bind(handle, lib.path, "ncclCommDestroy", lib.comm_destroy);
  bind(handle, lib.path, "ncclCommAbort", lib.comm_abort);
  bind(handle, lib.path, "ncclCommGetAsyncError", lib.comm_get_async_error);
  bind(handle, lib.path, "ncclAllReduce", lib.all_reduce);
  bind(handle, lib.path, "ncclReduceScatter", lib.reduce_scatter);
  bind(handle, lib.path, "ncclAllGather", lib.all_gather);
  bind(handle, lib.path, "ncclBroadcast", lib.broadcast);
  return lib;
}

}  // namespace

const NcclLibrary& nccl() {
  // A failed load throws here every time it is asked for, with its reason.
  static const NcclLibrary library = load();
  return library;
}

std::string nccl_version() {
  int code = 0;
  const ncclResult_t status = nccl().get_version(&code);
  if (status != ncclSuccess)
    return "unknown (" + std::string(nccl().get_error_string(status)) + ")";
  // NCCL_VERSION's encoding: major * 10000 + minor * 100 + patch since 2.9, before that * 1000.
  const int major = code >= 10000 ? code / 10000 : code / 1000;
  const int minor = code >= 10000 ? code / 100 % 100 : code / 100 % 10;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(code % 100);
}

}  // namespace tally::dist
