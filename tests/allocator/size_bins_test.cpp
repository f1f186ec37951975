// SizeBins against a brute-force best fit over the same blocks.
#include "allocator/size_bins.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace tally {
namespace {

TEST(SizeBins, BestFitIsTheSmallestLargeEnoughBinThenTheLowestAddress) {
  SizeBins bins(512, 4096);
  EXPECT_FALSE(bins.best_fit(512).has_value());
  bins.insert(2048, 0x9000, 1);
  bins.insert(2048, 0x3000, 2);
  bins.insert(1024, 0x5000, 3);
  bins.insert(2 * 1024 * 1024, 0x100000, 4);
  EXPECT_EQ(bins.best_fit(512)->id, 3u);
  EXPECT_EQ(bins.best_fit(1024)->id, 3u);
  EXPECT_EQ(bins.best_fit(1536)->id, 2u);
  EXPECT_EQ(bins.best_fit(2560)->id, 4u);
  EXPECT_EQ(bins.largest(), 2u * 1024 * 1024);
  bins.erase(2048, 2);
  EXPECT_EQ(bins.best_fit(1536)->id, 1u);
  bins.erase(2 * 1024 * 1024, 4);
  EXPECT_FALSE(bins.best_fit(2560).has_value());
  EXPECT_EQ(bins.largest(), 2048u);
}

TEST(SizeBins, AgreesWithBruteForceOverRandomOperations) {
  SizeBins bins(512, 4096);
  std::map<std::uint32_t, std::pair<std::size_t, std::uintptr_t>> held;  // id -> size, addr
  std::mt19937_64 rng(7);
  std::uint32_t next_id = 0;
  for (int op = 0; op < 50'000; ++op) {
    const auto roll = rng() % 6;
    if (!held.empty() && roll == 0) {
      // Take the best fit and often give it straight back: the allocate-free-allocate pattern.
      const std::size_t want = 512 * (1 + rng() % 4096);
      if (const auto fit = bins.best_fit(want)) {
        const auto block = held.at(fit->id);
        bins.erase(block.first, fit->id);
        held.erase(fit->id);
        if (rng() % 4 != 0) {
          bins.insert(block.first, block.second, next_id);
          held[next_id++] = block;
        }
      }
    } else if (held.empty() || roll < 4) {
      // Few distinct sizes, many equal ones, bins on both sides of every bitmap word boundary.
      const std::size_t size = 512 * (1 + (rng() % 3 == 0 ? rng() % 4096 : 62 + rng() % 4));
      const std::uintptr_t addr = 512 * (rng() % 1'000'000);
      bins.insert(size, addr, next_id);
      held[next_id++] = {size, addr};
    } else {
      auto it = held.begin();
      std::advance(it, rng() % held.size());
      bins.erase(it->second.first, it->first);
      held.erase(it);
    }
    const std::size_t want = 512 * (1 + rng() % 4096);
    std::optional<std::pair<std::size_t, std::uintptr_t>> best;
    std::size_t largest = 0;
    for (const auto& [id, block] : held) {
      largest = std::max(largest, block.first);
      if (block.first >= want && (!best || block < *best)) best = block;
    }
    const auto found = bins.best_fit(want);
    ASSERT_EQ(found.has_value(), best.has_value()) << "op " << op;
    if (found) {
      ASSERT_EQ(held.at(found->id).first, best->first) << "op " << op;
      ASSERT_EQ(found->order, best->second) << "op " << op;
    }
    ASSERT_EQ(bins.largest(), largest) << "op " << op;
  }
}

}  // namespace
}  // namespace tally
