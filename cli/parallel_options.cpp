#include "cli/parallel_options.h"

#include <cmath>

#include "cli/flag_validators.h"

namespace tally::cli {
namespace {

void add_shared(CLI::App& sub, ParallelArgs& args, CLI::Option* needed) {
  sub.add_option("--bucket-mb", args.bucket_mb,
                 "DDP's gradient bucket cap in MiB (the first bucket is 1 MiB), as PyTorch's "
                 "bucket_cap_mb")
      ->check(real_in(0, End::open, 1 << 20, End::closed))
      ->capture_default_str()
      ->needs(needed);
  sub.add_option("--zero", args.zero,
                 "ZeRO stage: 0, or 1 to shard the optimizer state across the ranks")
      ->check(CLI::IsMember({0, 1}))
      ->capture_default_str()
      ->needs(needed);
}

}  // namespace

dist::DdpOptions ParallelArgs::ddp_options() const {
  dist::DdpOptions o;
  o.bucket_cap_bytes = static_cast<std::int64_t>(std::llround(bucket_mb * 1024.0 * 1024.0));
  o.zero_stage = zero;
  o.overlap = !no_overlap;
  return o;
}

void add_ddp_options(CLI::App& sub, ParallelArgs& args) {
  CLI::Option* ddp = sub.add_flag(
      "--ddp", args.ddp,
      "data parallelism over the ranks mpirun started: each rank trains on its shard of every "
      "batch (--batch is per rank) and gradients are all-reduced (docs/distributed.md)");
  add_shared(sub, args, ddp);
  sub.add_flag("--no-overlap", args.no_overlap,
               "reduce every bucket after backward instead of during it")
      ->needs(ddp);
  sub.add_option("--timeout", args.timeout_s,
                 "seconds a rank waits for the others in a collective before failing")
      ->check(real_in(0, End::open, 86400, End::closed))
      ->capture_default_str()
      ->needs(ddp);
}

void add_world_options(CLI::App& sub, ParallelArgs& args) {
  CLI::Option* world =
      sub.add_option("--world-size", args.world_size,
                     "simulate one rank of DDP over this many ranks (--batch is per rank)")
          ->check(whole_in(1, 1 << 20));
  sub.add_option("--rank", args.rank, "which rank to simulate (ZeRO-1 shards differ by rank)")
      ->check(whole_in(0, 1 << 20))
      ->capture_default_str()
      ->needs(world);
  sub.add_option("--nccl-bytes", args.nccl_bytes,
                 "NCCL's own memory on each GPU, outside the allocator (the GPU kit measures its "
                 "communicator): added to the device total of a cuda target")
      ->transform(byte_size())
      ->type_name("SIZE")
      ->needs(world);
  add_shared(sub, args, world);
}

std::string parallel_text(const ParallelArgs& args, int world_size, int rank) {
  char text[160];
  std::snprintf(text, sizeof text, "DDP over %d rank(s) (rank %d), %g MiB buckets%s", world_size,
                rank, args.bucket_mb, args.zero == 1 ? ", ZeRO-1" : "");
  return text;
}

}  // namespace tally::cli
