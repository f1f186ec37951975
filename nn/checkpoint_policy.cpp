#include "nn/checkpoint_policy.h"

#include <algorithm>
#include <charconv>

#include "allocator/error.h"

namespace tally::nn {
namespace {

const char* const kExpected = "expected none, every:K, sqrt or blocks:LIST such as blocks:0,2,5-7";

std::int64_t parse_index(std::string_view text, std::string_view whole) {
  std::int64_t value = -1;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) {
    throw UsageError("--checkpoint " + std::string(whole) + ": '" + std::string(text) +
                     "' is not a block index (" + kExpected + ")");
  }
  return value;
}

std::vector<std::int64_t> parse_list(std::string_view list, std::string_view whole) {
  std::vector<std::int64_t> out;
  while (true) {
    const std::size_t comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    const std::size_t dash = item.find('-');
    const std::int64_t first = parse_index(item.substr(0, dash), whole);
    const std::int64_t last =
        dash == std::string_view::npos ? first : parse_index(item.substr(dash + 1), whole);
    if (last < first || last - first > (1 << 20)) {
      throw UsageError("--checkpoint " + std::string(whole) + ": range '" + std::string(item) +
                       "' is not ascending");
    }
    for (std::int64_t i = first; i <= last; ++i) out.push_back(i);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end()) {
    throw UsageError("--checkpoint " + std::string(whole) + " lists a block twice");
  }
  return out;
}

}  // namespace

std::string CheckpointPolicy::name() const {
  switch (kind) {
    case Kind::none:
      return "none";
    case Kind::every:
      return "every:" + std::to_string(every);
    case Kind::sqrt:
      return "sqrt";
    case Kind::blocks: {
      // Runs of consecutive indices as ranges: "blocks:0-3,7".
      std::string out = "blocks:";
      for (std::size_t i = 0; i < blocks.size();) {
        std::size_t j = i;
        while (j + 1 < blocks.size() && blocks[j + 1] == blocks[j] + 1) ++j;
        if (i > 0) out += ',';
        out += std::to_string(blocks[i]);
        if (j > i) {
          out += '-';
          out += std::to_string(blocks[j]);
        }
        i = j + 1;
      }
      return out;
    }
  }
  return "none";
}

CheckpointPolicy parse_checkpoint_policy(std::string_view text) {
  CheckpointPolicy policy;
  if (text == "none") return policy;
  if (text == "sqrt") {
    policy.kind = CheckpointPolicy::Kind::sqrt;
    return policy;
  }
  if (text.starts_with("every:")) {
    policy.kind = CheckpointPolicy::Kind::every;
    policy.every = parse_index(text.substr(6), text);
    if (policy.every == 0) throw UsageError("--checkpoint every:0: K must be at least 1");
    return policy;
  }
  if (text.starts_with("blocks:") && text.size() > 7) {
    policy.kind = CheckpointPolicy::Kind::blocks;
    policy.blocks = parse_list(text.substr(7), text);
    return policy;
  }
  throw UsageError("--checkpoint " + std::string(text) + ": " + kExpected);
}

std::vector<BlockSegment> plan_segments(const CheckpointPolicy& policy, std::int64_t blocks) {
  using Kind = CheckpointPolicy::Kind;
  if (policy.kind == Kind::none || blocks == 0) return {{0, blocks, false}};
  if (policy.kind == Kind::blocks) {
    std::vector<BlockSegment> out;
    std::int64_t next = 0;
    for (const std::int64_t b : policy.blocks) {
      if (b >= blocks) {
        throw UsageError("--checkpoint " + policy.name() + ": block " + std::to_string(b) +
                         " does not exist (the model has " + std::to_string(blocks) +
                         " blocks, 0 to " + std::to_string(blocks - 1) + ")");
      }
      if (b > next) out.push_back({next, b, false});
      out.push_back({b, b + 1, true});
      next = b + 1;
    }
    if (next < blocks) out.push_back({next, blocks, false});
    return out;
  }
  std::vector<BlockSegment> out;
  if (policy.kind == Kind::sqrt) {
    // ceil(sqrt(n)) segments of n / segments blocks, the remainder spread over the last ones:
    // the plain last segment is then among the largest, and recomputes nothing.
    std::int64_t count = 1;
    while (count * count < blocks) ++count;
    const std::int64_t base = blocks / count, larger_from = count - blocks % count;
    for (std::int64_t i = 0, begin = 0; i < count; ++i) {
      const std::int64_t size = base + (i >= larger_from ? 1 : 0);
      out.push_back({begin, begin + size, i + 1 < count});
      begin += size;
    }
    return out;
  }
  const std::int64_t k = policy.every;
  if (k > blocks) {
    throw UsageError("--checkpoint " + policy.name() + ": K is above the model's " +
                     std::to_string(blocks) + " blocks");
  }
  for (std::int64_t begin = 0; begin < blocks; begin += k) {
    out.push_back({begin, std::min(begin + k, blocks), true});
  }
  out.back().checkpointed = false;
  return out;
}

}  // namespace tally::nn
