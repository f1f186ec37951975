// Which blocks of a model are checkpointed: a policy, parsed from the --checkpoint flag, and the
// segments it cuts a model's n blocks into. A model's blocks are its repeated blocks (the
// children of its `blocks`) or, for a sequential model, its layers in order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tally::nn {

struct CheckpointPolicy {
  enum class Kind { none, every, sqrt, blocks };
  Kind kind = Kind::none;
  std::int64_t every = 0;            // every:K
  std::vector<std::int64_t> blocks;  // blocks:LIST, ascending, distinct
  // As parse_checkpoint_policy reads it: "none", "every:4", "sqrt", "blocks:0-2,5".
  std::string name() const;
  bool operator==(const CheckpointPolicy&) const = default;
};

// "none"; "every:K" (K >= 1); "sqrt"; "blocks:LIST" with LIST indices and ranges such as
// "0,2,5-7". Anything else is a one-line usage error.
CheckpointPolicy parse_checkpoint_policy(std::string_view text);

// Blocks [begin, end), run as one checkpointed segment or plainly.
struct BlockSegment {
  std::int64_t begin = 0, end = 0;
  bool checkpointed = false;
  bool operator==(const BlockSegment&) const = default;
};

// The segments `policy` cuts `blocks` blocks into, covering them in order:
// - none: one plain segment;
// - every:K: segments of K blocks, each checkpointed but the last, which backward needs first
//   (as torch.utils.checkpoint.checkpoint_sequential); K above the block count is an error;
// - sqrt: Chen et al.'s sqrt(n) segments: ceil(sqrt(blocks)) segments of as equal sizes as can be,
//   the larger ones last, each checkpointed but the last (32 blocks: 5, 5, 5, 5, 6, 6);
// - blocks:LIST: each listed block a checkpointed segment of its own, the blocks between them
//   plain; an index outside [0, blocks) is a usage error.
std::vector<BlockSegment> plan_segments(const CheckpointPolicy& policy, std::int64_t blocks);

}  // namespace tally::nn
