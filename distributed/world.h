// The world a run was launched into, and the process group its device's tensors use. mpirun (or
// Slurm's srun) starts the ranks and says which is which; a process started alone is a world of
// one. MPI is started on first use and finished at exit.
#pragma once

#include <chrono>
#include <memory>

#include "distributed/process_group.h"

namespace tally::dist {

// Which backends this build has: MPI (CPU tensors, launching, NCCL's bootstrap) and NCCL (CUDA
// tensors).
bool has_mpi();
bool has_nccl();

// The group of every rank in the job for tensors on `device`: MPI's for cpu (a world of one
// without MPI), NCCL's for cuda (bootstrapped over MPI; a world of one without MPI), each with
// `timeout` for every wait. Created once per device and process. A usage error for sim (whose
// ranks are LocalProcessGroup's) and for a cuda device in a build without NCCL.
std::shared_ptr<ProcessGroup> world_group(Device device, std::chrono::milliseconds timeout);

// After a fatal error in a job of several ranks: ends every rank with `status` (MPI_Abort), so
// that none waits for this one until its timeout. Returns when this process is a world of one.
void abort_world(int status);

}  // namespace tally::dist
