// How long `tally estimate` takes per simulated training step, against the same step computed on
// the CPU in the same process, for every zoo model. Benchmarks are named
//   BM_Estimate/<model>  one step on sim:cuda as tally estimate runs it: a fresh recording
//                        allocator for the default preset, then nn::simulate_training(options, 1)
//   BM_CpuStep/<model>   nn::train_step on cpu with a batch of synthetic Fashion-MNIST
// and a table follows with each model's figures, the ratio cpu / estimate and whether the estimate
// meets the target of under a second per step. The ratio is the trustworthy figure on a noisy
// machine: both sides run seconds apart, under the same load. The process exits 1 when a
// model misses the target.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "allocator/config.h"
#include "allocator/device_allocator.h"
#include "core/device.h"
#include "core/device_presets.h"
#include "core/device_registry.h"
#include "core/generator.h"
#include "nn/data/loader.h"
#include "nn/data/synthetic.h"
#include "nn/estimate.h"
#include "nn/models.h"
#include "nn/trainer.h"
#include "ops/threads.h"

namespace {

constexpr double kTargetMs = 1000.0;

// A batch a GPU user would train these models with. Sim's cost does not depend on it (shapes
// only, no arithmetic), so it only sets how much work the CPU baseline does; 256 is also
// tally_train_step_bench's default.
constexpr std::int64_t kBatch = 256;

tally::nn::TrainOptions options_for(const std::string& model, tally::Device device) {
  tally::nn::TrainOptions options;  // tally estimate's defaults: SGD, lr 0.1, no momentum
  options.model = model;
  options.batch = kBatch;
  options.device = device;
  return options;
}

void estimate(benchmark::State& state, const std::string& model) {
  const tally::Device device = tally::Device::sim(tally::SimTarget::cuda);
  const tally::nn::TrainOptions options = options_for(model, device);
  tally::AllocatorConfig config;
  config.record = true;  // as tally estimate, whose report is built from the trace
  const tally::SimSettings settings =
      tally::SimSettings::of(tally::device_preset(tally::kDefaultPreset));
  std::shared_ptr<tally::DeviceAllocator> allocator;
  for (auto _ : state) {
    allocator = tally::configure_sim_device(device, config, settings);
    benchmark::DoNotOptimize(tally::nn::simulate_training(options, 1));
  }
  // The allocator events one step recorded: evidence that the whole step ran, and the work that
  // the time is spent on. Read after the loop, since trace() copies.
  state.counters["events"] = static_cast<double>(allocator->trace().events.size());
}

// The whole synthetic training split, built once: making it takes longer than a step, and the
// loader's batches are what tally train feeds a step.
const tally::data::Dataset& synthetic_train_set() {
  static const tally::data::Dataset set =
      tally::data::synthetic_fashion_mnist(tally::data::Split::train);
  return set;
}

void cpu_step(benchmark::State& state, const std::string& model_name) {
  const tally::nn::TrainOptions options = options_for(model_name, tally::Device::cpu());
  tally::manual_seed(options.seed);
  const std::shared_ptr<tally::nn::Module> model =
      tally::nn::make_model(options.model, options.device);
  const std::unique_ptr<tally::nn::Optimizer> optimizer =
      tally::nn::make_optimizer(options, *model);
  tally::data::LoaderOptions loader_options;
  loader_options.batch_size = options.batch;
  loader_options.seed = options.seed;
  loader_options.device = options.device;
  tally::data::BatchLoader loader(synthetic_train_set(), loader_options);
  // One batch reused every step, as in tally_train_step_bench: loading is not part of the step.
  const tally::data::Batch batch = loader.next();
  // A warm-up step, so that OpenBLAS's buffers and the allocator's cache are in place before the
  // first timed one, as they are in every step of a training run but the first.
  tally::nn::train_step(*model, *optimizer, batch.inputs, batch.labels);
  for (auto _ : state) {
    benchmark::DoNotOptimize(tally::nn::train_step(*model, *optimizer, batch.inputs, batch.labels));
  }
}

// Passes every report on to the display reporter that --benchmark_format and --benchmark_color
// ask for, keeping each benchmark's wall time per iteration for the summary. Repetitions each give
// a run; the summary takes their median.
class Collector : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context& context) override { return display_->ReportContext(context); }

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      ms_[run.run_name.function_name].push_back(run.GetAdjustedRealTime() * 1e3 /
                                                benchmark::GetTimeUnitMultiplier(run.time_unit));
    }
    display_->ReportRuns(runs);
  }

  void Finalize() override { display_->Finalize(); }

  // The median ms per iteration of `name`, or a negative number when it did not run (filtered
  // out, or failed).
  double median_ms(const std::string& name) const {
    const auto it = ms_.find(name);
    if (it == ms_.end()) return -1.0;
    std::vector<double> v = it->second;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }

 private:
  benchmark::BenchmarkReporter* display_ = benchmark::CreateDefaultDisplayReporter();  // static
  std::map<std::string, std::vector<double>> ms_;
};

using Body = void (*)(benchmark::State&, const std::string&);

void add(const std::string& family, Body body, const std::string& model) {
  const auto run = [body, model](benchmark::State& state) { body(state, model); };
  benchmark::RegisterBenchmark((family + "/" + model).c_str(), run)->Unit(benchmark::kMillisecond);
}

// Prints the summary; returns whether every model that was estimated met the target.
bool summarise(const Collector& collector) {
  std::printf("\n%-8s %6s %18s %14s %14s  %s\n", "model", "batch", "estimate ms/step",
              "cpu ms/step", "cpu/estimate", "target < 1 s/step");
  bool all_pass = true;
  std::string verdicts;
  for (const std::string& model : tally::nn::model_names()) {
    const double sim = collector.median_ms("BM_Estimate/" + model);
    const double cpu = collector.median_ms("BM_CpuStep/" + model);
    if (sim < 0.0 && cpu < 0.0) continue;
    char sim_text[32] = "-", cpu_text[32] = "-", ratio_text[32] = "-";
    if (sim >= 0.0) std::snprintf(sim_text, sizeof sim_text, "%.3f", sim);
    if (cpu >= 0.0) std::snprintf(cpu_text, sizeof cpu_text, "%.2f", cpu);
    if (sim > 0.0 && cpu >= 0.0) {
      std::snprintf(ratio_text, sizeof ratio_text, "%.1fx", cpu / sim);
      verdicts += model + ": sim is " + ratio_text + " faster than computing the step on cpu\n";
    }
    const char* verdict = "-";
    if (sim >= 0.0) {
      const bool pass = sim < kTargetMs;
      all_pass = all_pass && pass;
      verdict = pass ? "PASS" : "FAIL";
    }
    std::printf("%-8s %6lld %18s %14s %14s  %s\n", model.c_str(), static_cast<long long>(kBatch),
                sim_text, cpu_text, ratio_text, verdict);
  }
  std::printf("%s", verdicts.c_str());
  return all_pass;
}

}  // namespace

int main(int argc, char** argv) {
  // Half a second per benchmark keeps the whole run well under a minute on two cores. It goes
  // first, so that a --benchmark_min_time on the command line wins.
  static char default_min_time[] = "--benchmark_min_time=0.5";
  std::vector<char*> args{argv[0], default_min_time};
  args.insert(args.end(), argv + 1, argv + argc);
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;

  // Sim runs on one thread, so the baseline gets one too: the ratio then compares like with like
  // and does not move with whatever else is using the second core.
  tally::ops::set_num_threads(1);
  for (const std::string& model : tally::nn::model_names()) {
    add("BM_Estimate", estimate, model);
    add("BM_CpuStep", cpu_step, model);
  }
  Collector collector;
  try {
    benchmark::RunSpecifiedBenchmarks(&collector);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "tally_estimate_bench: %s\n", error.what());
    return 1;
  }
  benchmark::Shutdown();
  return summarise(collector) ? 0 : 1;
}
