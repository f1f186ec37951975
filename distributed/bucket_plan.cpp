#include "distributed/bucket_plan.h"

#include <algorithm>
#include <map>
#include <string>

#include "allocator/error.h"

namespace tally::dist {

std::vector<BucketLayout> plan_buckets(const std::vector<ParameterShape>& parameters,
                                       std::int64_t first_cap, std::int64_t cap, int chunks) {
  if (first_cap <= 0 || cap <= 0) {
    throw UsageError("ddp: bucket limits must be positive, got " + std::to_string(first_cap) +
                     " and " + std::to_string(cap) + " bytes");
  }
  if (chunks < 1) throw UsageError("ddp: buckets split into at least one chunk");
  struct Open {
    BucketLayout bucket;
    std::int64_t bytes = 0;
    bool first = true;  // still filling this dtype's first bucket
  };
  std::map<DType, Open> open;
  std::vector<BucketLayout> closed;
  const auto close = [&](Open& o) {
    o.bucket.numel = (o.bucket.used + chunks - 1) / chunks * chunks;
    closed.push_back(std::move(o.bucket));
    o.bucket = BucketLayout{};
    o.bytes = 0;
    o.first = false;
  };
  for (std::size_t k = parameters.size(); k-- > 0;) {
    const ParameterShape& p = parameters[k];
    Open& o = open[p.dtype];
    o.bucket.dtype = p.dtype;
    o.bucket.slots.push_back({k, o.bucket.used, p.numel});
    o.bucket.used += p.numel;
    o.bytes += p.numel * static_cast<std::int64_t>(dtype_size(p.dtype));
    if (o.bytes >= (o.first ? first_cap : cap)) close(o);
  }
  for (auto& [dtype, o] : open) {
    if (!o.bucket.slots.empty()) close(o);
  }
  return closed;
}

std::vector<ShardPiece> shard_pieces(const std::vector<BucketLayout>& buckets, int rank,
                                     int world_size) {
  std::vector<ShardPiece> pieces;
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    const BucketLayout& bucket = buckets[b];
    TALLY_CHECK(bucket.numel % world_size == 0, "shard_pieces: bucket not padded to the world");
    const std::int64_t chunk = bucket.numel / world_size;
    const std::int64_t lo = rank * chunk, hi = lo + chunk;
    for (const BucketSlot& s : bucket.slots) {
      const std::int64_t a = std::max(lo, s.offset), e = std::min(hi, s.offset + s.numel);
      if (a < e) pieces.push_back({b, s.parameter, a - s.offset, a, e - a});
    }
  }
  return pieces;
}

}  // namespace tally::dist
