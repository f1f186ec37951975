// MPI_CHECK: throws tally::Error naming the call, MPI's error class and its message. Included only
// by translation units built with MPI. The world communicator returns errors instead of aborting
// (distributed/mpi_runtime.cpp sets MPI_ERRORS_RETURN), so that a failure reaches the caller.
#pragma once

#include <mpi.h>

#include <string>

#include "allocator/error.h"

namespace tally::dist::detail {

// MPI names its error classes only in its headers: the common ones by name, the rest by number.
inline std::string mpi_error_class_name(int code) {
  int error_class = code;
  MPI_Error_class(code, &error_class);
  switch (error_class) {
    case MPI_ERR_BUFFER:
      return "MPI_ERR_BUFFER";
    case MPI_ERR_COUNT:
      return "MPI_ERR_COUNT";
    case MPI_ERR_TYPE:
      return "MPI_ERR_TYPE";
    case MPI_ERR_COMM:
      return "MPI_ERR_COMM";
    case MPI_ERR_RANK:
      return "MPI_ERR_RANK";
    case MPI_ERR_ROOT:
      return "MPI_ERR_ROOT";
    case MPI_ERR_OP:
      return "MPI_ERR_OP";
    case MPI_ERR_ARG:
      return "MPI_ERR_ARG";
    case MPI_ERR_TRUNCATE:
      return "MPI_ERR_TRUNCATE";
    case MPI_ERR_OTHER:
      return "MPI_ERR_OTHER";
    case MPI_ERR_INTERN:
      return "MPI_ERR_INTERN";
    case MPI_ERR_NO_MEM:
      return "MPI_ERR_NO_MEM";
    default:
      return "MPI error class " + std::to_string(error_class);
  }
}

inline std::string mpi_error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS)
    return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<std::size_t>(length));
}

}  // namespace tally::dist::detail

#define MPI_CHECK(call)                                                                    \
  do {                                                                                     \
    const int tally_mpi_status_ = (call);                                                  \
    if (tally_mpi_status_ != MPI_SUCCESS) {                                                \
      throw ::tally::Error(::tally::ErrorKind::device, #call,                              \
                           ::tally::dist::detail::mpi_error_class_name(tally_mpi_status_), \
                           ::tally::dist::detail::mpi_error_string(tally_mpi_status_));    \
    }                                                                                      \
  } while (0)
