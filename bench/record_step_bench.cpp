// What recording costs a whole training step: one nn::train_step of a zoo model on the CPU with
// the device allocator's recording off and on, in the same run. Benchmarks are named
//   BM_Step/<model>/batch:<b>/record:<0|1>
// so that bench/allocator_targets.py can read the figures back by field, and carry the events
// one step records as the counter `events`. Both cases of a model train the same model on the
// same inputs, and both clear the trace after every step (O(1), capacity kept), so that they run
// the same code but for the recorder's branch. Run with --benchmark_enable_random_interleaving
// and repetitions: the cases then take turns, and the drift of a shared machine's speed falls
// on both alike.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/step_fixture.h"
#include "core/device.h"
#include "core/device_registry.h"
#include "nn/transformer_config.h"
#include "ops/threads.h"

namespace {

struct Case {
  std::string model;
  std::int64_t batch;
  bool record;

  std::string name() const {
    return "BM_Step/" + model + "/batch:" + std::to_string(batch) +
           "/record:" + (record ? "1" : "0");
  }
};

// bench/compare_torch.py's cases, but llama-tiny: its step differs from gpt-tiny's in ops,
// not in how many blocks it allocates.
const std::vector<std::pair<std::string, std::int64_t>> kModels{
    {"mlp", 256}, {"cnn", 64}, {"gpt-tiny", 8}};
constexpr std::int64_t kSeqLen = 64;

// One fixture per model, shared by its two cases and built on first use: building the model in
// the benchmark body would repeat it for every repetition.
tally::bench::StepFixture& fixture_for(const Case& c) {
  static std::map<std::string, tally::bench::StepFixture> fixtures;
  auto it = fixtures.find(c.model);
  if (it == fixtures.end()) {
    const bool transformer = tally::nn::zoo_transformer(c.model).has_value();
    it = fixtures
             .emplace(c.model, tally::bench::make_step_fixture(
                                   c.model, c.batch, transformer ? kSeqLen : 0,
                                   tally::Device::cpu(), 0, tally::nn::CheckpointPolicy{}))
             .first;
  }
  return it->second;
}

void step(benchmark::State& state, const Case& c) {
  tally::bench::StepFixture& f = fixture_for(c);
  const auto allocator = tally::device_allocator(tally::Device::cpu());
  // One step recorded, to count its events, also warms the case: the recorder's vector and the
  // caching strategy's segments reach their working size.
  allocator->set_recording(true);
  allocator->clear_trace();
  f.step();
  const std::size_t events = allocator->trace().events.size();
  allocator->clear_trace();
  allocator->set_recording(c.record);
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.step());
    allocator->clear_trace();
  }
  state.counters["events"] = static_cast<double>(events);
  allocator->set_recording(false);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  tally::ops::set_num_threads(1);  // one thread: less noise on a shared machine
  for (const auto& [model, batch] : kModels) {
    for (const bool record : {false, true}) {
      const Case c{model, batch, record};
      benchmark::RegisterBenchmark(c.name().c_str(),
                                   [c](benchmark::State& state) { step(state, c); });
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
