// The data-parallel flags: --ddp and its settings for tally train (a real job under mpirun), and
// --world-size and --rank for estimate and fit (one rank of such a job, simulated). The bucket
// and ZeRO flags mean the same to both, so that one command line means one job.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "distributed/ddp.h"

namespace tally::cli {

struct ParallelArgs {
  bool ddp = false;               // train: run under DDP
  std::optional<int> world_size;  // estimate, fit: simulate one rank of this many
  int rank = 0;
  double bucket_mb = 25.0;
  int zero = 0;
  bool no_overlap = false;
  double timeout_s = 300.0;
  std::size_t nccl_bytes = 0;  // estimate, fit: NCCL's memory per GPU outside the allocator

  // Whether any data-parallel flag was given (so that a step runs under DDP).
  bool active() const { return ddp || world_size.has_value(); }
  dist::DdpOptions ddp_options() const;
};

// --ddp, --bucket-mb, --zero, --no-overlap and --timeout; the others need --ddp.
void add_ddp_options(CLI::App& sub, ParallelArgs& args);
// --world-size, --rank, --bucket-mb, --zero and --nccl-bytes; the others need --world-size, and
// --rank must be below it.
void add_world_options(CLI::App& sub, ParallelArgs& args);

// "DDP over 4 ranks (rank 0), 25 MiB buckets, ZeRO-1" and the like.
std::string parallel_text(const ParallelArgs& args, int world_size, int rank);

}  // namespace tally::cli
