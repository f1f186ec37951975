// One backing call per allocation, returned at free: the cudaMalloc/cudaFree baseline.
#pragma once

#include "allocator/strategy.h"

namespace tally {

class DirectStrategy final : public Strategy {
 public:
  explicit DirectStrategy(SegmentSource& source) : source_(source) {}

  std::string_view name() const override { return "direct"; }
  // Rounded up to 512 bytes, the granularity every strategy shares.
  std::size_t block_size(std::size_t bytes) const override;
  Block allocate(std::size_t bytes, StreamId stream) override;
  void deallocate(const Block& block) override;
  void release_cached() override {}
  std::size_t largest_free_block() const override { return 0; }

 private:
  SegmentSource& source_;
};

}  // namespace tally
