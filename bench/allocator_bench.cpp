// Latency of one allocate+deallocate pair through tally::DeviceAllocator, for every combination
// of strategy (every registered one, tally::strategy_names()), backing, number of live blocks
// held and recording. Benchmarks are named
//   BM_Pair/<strategy>/<backing>/live:<n>/record:<0|1>
// so that bench/allocator_targets.py can read the figures back by field.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "allocator/device_allocator.h"
#include "allocator/host_backing.h"
#include "allocator/strategy.h"
#include "allocator/units.h"
#include "allocator/virtual_backing.h"

namespace {

using tally::Allocation;
using tally::DeviceAllocator;
using tally::KiB;
using tally::Tag;

constexpr std::size_t kPairBytes = 4 * KiB;
// Held blocks stay small so that a million of them fit in host memory: the whole run peaks under
// 4 GiB resident (the direct strategy over host memory pays malloc overhead per block).
constexpr std::size_t kMinHeldBytes = 512;
constexpr std::size_t kMaxHeldBytes = 4 * KiB;
// The recorder appends two 64-byte events per pair (four with the direct strategy, whose every
// block is a segment), so an unbounded trace would make the measurement depend on how long it ran:
// each fresh page of the growing vector costs a page fault, and each doubling a copy. Clearing it
// every 64Ki pairs, inside the timed loop, measures the recorder at steady state — its capacity
// already grown, as in a training loop that takes the trace every step. A clear of trivially
// destructible events is O(1), and the same check runs with recording off, so both loops are the
// same code.
constexpr std::int64_t kPairsPerTrace = std::int64_t{1} << 16;

struct Case {
  std::string strategy;
  std::string backing;
  std::size_t live;
  bool record;

  std::string name() const {
    return "BM_Pair/" + strategy + "/" + backing + "/live:" + std::to_string(live) +
           "/record:" + (record ? "1" : "0");
  }
};

std::unique_ptr<tally::Backing> make_backing(const std::string& kind) {
  if (kind == "virtual") return std::make_unique<tally::VirtualBacking>(1024 * tally::GiB);
  return std::make_unique<tally::HostBacking>();
}

tally::AllocatorConfig config_of(const Case& c) {
  tally::AllocatorConfig config;
  config.strategy = c.strategy;
  config.record = c.record;
  return config;
}

// An allocator holding `live` blocks of seeded sizes. A quarter more are allocated and that many,
// chosen at random, freed again, so that the held segments are riddled with free holes as a real
// heap is: a perfectly packed heap would leave the caching strategy's free set at one block
// whatever the live count, and the live count would measure nothing.
struct Heap {
  explicit Heap(const Case& c) : allocator(make_backing(c.backing), config_of(c)) {
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<std::size_t> size(kMinHeldBytes, kMaxHeldBytes);
    std::vector<Allocation> blocks(c.live + c.live / 4);
    for (Allocation& block : blocks) block = allocator.allocate(size(rng), Tag::activation);
    std::shuffle(blocks.begin(), blocks.end(), rng);
    for (std::size_t i = c.live; i < blocks.size(); ++i) allocator.deallocate(blocks[i]);
    // One trace's worth of pairs grows the recorder to its working capacity and warms the
    // path, so that the first timed iterations are not the slow ones.
    for (std::int64_t i = 0; i < kPairsPerTrace; ++i) {
      allocator.deallocate(allocator.allocate(kPairBytes, Tag::temporary));
    }
    allocator.clear_trace();
  }

  DeviceAllocator allocator;  // returns the held blocks to the backing when destroyed
};

// Building a million-block heap takes far longer than measuring it, and Google Benchmark calls
// a benchmark several times (iteration estimate, then each repetition), so the heap of the case
// being run is kept until another case asks. One heap at a time bounds memory.
DeviceAllocator& allocator_for(const Case& c) {
  static std::string current;
  static std::unique_ptr<Heap> heap;
  const std::string name = c.name();
  if (name != current) {
    heap.reset();
    heap = std::make_unique<Heap>(c);
    current = name;
  }
  return heap->allocator;
}

void pair(benchmark::State& state, const Case& c) {
  DeviceAllocator& allocator = allocator_for(c);
  std::int64_t pairs_in_trace = 0;
  for (auto _ : state) {
    const Allocation a = allocator.allocate(kPairBytes, Tag::temporary);
    allocator.deallocate(a);
    if (++pairs_in_trace == kPairsPerTrace) {
      allocator.clear_trace();
      pairs_in_trace = 0;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  // A short minimum time keeps the 12 cases of each strategy to a minute or so on two cores,
  // repetitions included. It goes first, so that a --benchmark_min_time on the command line wins.
  static char default_min_time[] = "--benchmark_min_time=0.2";
  std::vector<char*> args{argv[0], default_min_time};
  args.insert(args.end(), argv + 1, argv + argc);
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;

  for (const std::string& strategy : tally::strategy_names()) {
    for (const char* backing : {"virtual", "host"}) {
      for (const std::size_t live : {100, 10'000, 1'000'000}) {
        for (const bool record : {false, true}) {
          const Case c{strategy, backing, live, record};
          benchmark::RegisterBenchmark(c.name().c_str(),
                                       [c](benchmark::State& state) { pair(state, c); });
        }
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
