// The allocator's configuration string, in the spirit of PYTORCH_CUDA_ALLOC_CONF:
//   strategy:caching,max_split_size_mb:64,limit:8GiB,record:on
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "allocator/strategy.h"

namespace tally {

struct AllocatorConfig {
  std::string strategy = "caching";
  StrategyOptions strategy_options;
  std::optional<std::size_t> limit;  // run as if the device had this much memory
  bool record = false;
};

// Applies "key:value,key:value" on top of `config`. `origin` names where the text came from
// (e.g. "TALLY_ALLOC_CONF") in errors. Throws tally::Error with a one-line message naming the
// key for unknown keys and bad values.
void apply_alloc_conf(AllocatorConfig& config, std::string_view text, std::string_view origin);

// `text` without leading and trailing spaces, as configuration items are read.
std::string_view trim(std::string_view text);

// Defaults, then the TALLY_ALLOC_CONF environment variable, then `flag` (e.g. --alloc-conf).
AllocatorConfig alloc_conf_from(std::string_view flag = {});

}  // namespace tally
