// The world a run was launched into, and the process group its device's tensors use. mpirun (or
// Slurm's srun) starts the ranks and says which is which; a process started alone is a world of
// one. MPI is started on first use and finished at exit.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "distributed/process_group.h"

namespace tally::dist {

// Which backends this build has: MPI (CPU tensors, launching, NCCL's bootstrap) and NCCL (CUDA
// tensors).
bool has_mpi();
bool has_nccl();

// The group of every rank in the job for tensors on `device`: MPI's for cpu (a world of one
// without MPI), NCCL's for cuda (bootstrapped over MPI; a world of one without MPI), each with
// `timeout` for every wait. Created once per device and process: a later call returns the first
// call's group, with its timeout. A usage error for sim (whose ranks are LocalProcessGroup's), for
// a cuda device in a build without NCCL, and, in a world of several ranks, for a cuda device other
// than cuda:<local rank> (each rank uses the GPU of its index on its machine).
//
// A process that no launcher started (no mpirun, no srun) does not start MPI: its cpu group is a
// LocalProcessGroup and its cuda group an NCCL world of one.
std::shared_ptr<ProcessGroup> world_group(Device device, std::chrono::milliseconds timeout);

// Where a launcher placed this process, or nullopt when none started it. Starts MPI.
struct WorldPlace {
  int rank = 0;
  int size = 1;
  int local_rank = 0;
};
std::optional<WorldPlace> launched_world();

// The MPI library's name and version ("Open MPI v4.1.4"); empty in a build without MPI.
std::string mpi_version();
// The NCCL library's version as loaded ("2.28.9"), or why it cannot be loaded; empty in a build
// without NCCL.
std::string nccl_version_or_reason();

// After a fatal error in a job of several ranks: ends every rank with `status` (MPI_Abort), so
// that none waits for this one until its timeout. Returns when this process is a world of one.
void abort_world(int status);

}  // namespace tally::dist
