// How DDP groups gradients into buckets, with PyTorch's rule (compute_bucket_assignment_by_size):
// parameters are taken in reverse registration order, since backward produces the last layers'
// gradients first; each dtype fills its own bucket, which closes once it holds at least its
// limit; the first limit is small (1 MiB) so that the first all-reduce starts early in backward,
// the later ones are the bucket cap (25 MiB). Buckets that are still open at the end close as
// they are. A bucket is one flat buffer; each gradient is a view into it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/dtype.h"

namespace tally::dist {

struct BucketSlot {
  std::size_t parameter = 0;  // index in registration order
  std::int64_t offset = 0;    // first element in the bucket
  std::int64_t numel = 0;
};

struct BucketLayout {
  DType dtype = DType::f32;
  std::vector<BucketSlot> slots;  // in the order gradients are expected to be ready
  std::int64_t used = 0;          // elements the slots cover
  std::int64_t numel = 0;         // used, rounded up to a multiple of the plan's `chunks`
  std::int64_t bytes() const { return numel * static_cast<std::int64_t>(dtype_size(dtype)); }
};

struct ParameterShape {
  DType dtype = DType::f32;
  std::int64_t numel = 0;
};

// Buckets for `parameters` (in registration order). `first_cap` and `cap` are byte limits
// (positive); `chunks` pads every bucket to a multiple of that many elements, so that it splits
// into equal shards (ZeRO-1: the world size; otherwise 1).
std::vector<BucketLayout> plan_buckets(const std::vector<ParameterShape>& parameters,
                                       std::int64_t first_cap, std::int64_t cap, int chunks = 1);

// A rank's share of the buckets under ZeRO-1: the parameter elements in chunk `rank` of each
// bucket, one piece per parameter that the chunk meets.
struct ShardPiece {
  std::size_t bucket = 0;
  std::size_t parameter = 0;
  std::int64_t parameter_offset = 0;  // first element, in the parameter's flat view
  std::int64_t bucket_offset = 0;     // the same element's place in the bucket
  std::int64_t numel = 0;
};

std::vector<ShardPiece> shard_pieces(const std::vector<BucketLayout>& buckets, int rank,
                                     int world_size);

}  // namespace tally::dist
