// Token datasets for the language models: a text file read as bytes (vocab 256, as byte-level
// models read it), or uniformly random tokens of any vocabulary drawn from Philox, the same on
// every machine. Both are cut into non-overlapping windows of seq_len tokens (Dataset).
#pragma once

#include <cstdint>
#include <filesystem>

#include "nn/data/fashion_mnist.h"

namespace tally::data {

// The file's bytes as tokens: train is the first 90%, test the last 10%. A file that cannot be
// read, or a split too short for one window of seq_len + 1 tokens, is a DataError naming the
// file and the sizes.
Dataset text_tokens(const std::filesystem::path& path, Split split, std::int64_t seq_len);

// Random tokens in [0, vocab): 1024 windows for train and 128 for test, drawn from different
// Philox streams. Loss cannot fall below log(vocab) on them: they measure memory and speed.
Dataset synthetic_tokens(Split split, std::int64_t vocab, std::int64_t seq_len);

}  // namespace tally::data
