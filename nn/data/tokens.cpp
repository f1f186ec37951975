#include "nn/data/tokens.h"

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "allocator/error.h"
#include "core/philox.h"

namespace tally::data {
namespace {

constexpr std::uint64_t kSeed = 0x70c3'5eed;

// The windows `tokens` holds: n such that n * seq_len + 1 tokens fit, the rest dropped.
Dataset windows(std::vector<std::int32_t> tokens, std::int64_t seq_len, std::int64_t vocab) {
  Dataset d;
  d.seq_len = seq_len;
  d.vocab = vocab;
  d.n = (static_cast<std::int64_t>(tokens.size()) - 1) / seq_len;
  tokens.resize(static_cast<std::size_t>(d.n * seq_len + 1));
  d.tokens = std::move(tokens);
  return d;
}

void check_seq_len(std::int64_t seq_len) {
  if (seq_len < 1) throw UsageError("tokens: sequence length must be at least 1");
}

}  // namespace

Dataset text_tokens(const std::filesystem::path& path, Split split, std::int64_t seq_len) {
  check_seq_len(seq_len);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path.string() + ": cannot read the text");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  const std::size_t cut = bytes.size() - bytes.size() / 10;
  const std::size_t begin = split == Split::train ? 0 : cut;
  const std::size_t end = split == Split::train ? cut : bytes.size();
  const auto needed = static_cast<std::size_t>(seq_len) + 1;
  if (end - begin < needed) {
    throw DataError(path.string() + ": its " +
                    std::string(split == Split::train ? "train" : "test") + " part (" +
                    (split == Split::train ? "the first 90%" : "the last 10%") + ") has " +
                    std::to_string(end - begin) + " bytes, fewer than one sequence of " +
                    std::to_string(seq_len) + " tokens and its next token");
  }
  std::vector<std::int32_t> tokens(end - begin);
  for (std::size_t i = begin; i < end; ++i) {
    tokens[i - begin] = static_cast<std::uint8_t>(bytes[i]);
  }
  return windows(std::move(tokens), seq_len, 256);
}

Dataset synthetic_tokens(Split split, std::int64_t vocab, std::int64_t seq_len) {
  check_seq_len(seq_len);
  if (vocab < 1) throw UsageError("tokens: vocabulary must not be empty");
  const std::int64_t n = split == Split::train ? 1024 : 128;
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(n * seq_len + 1));
  const std::uint64_t stream = split == Split::train ? 0 : 1;
  // One 32-bit word per token; the modulo's bias (at most vocab / 2^32, 1.2e-5 for GPT-2's
  // 50257) does not matter for data whose purpose is shapes.
  for (std::size_t i = 0; i < tokens.size(); i += 4) {
    const PhiloxBlock block = philox4x32_10(kSeed, i / 4, stream);
    for (std::size_t k = 0; k < 4 && i + k < tokens.size(); ++k) {
      tokens[i + k] = static_cast<std::int32_t>(block.v[k] % static_cast<std::uint64_t>(vocab));
    }
  }
  return windows(std::move(tokens), seq_len, vocab);
}

}  // namespace tally::data
