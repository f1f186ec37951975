// Wall time of one nn::train_step of a zoo model on the CPU or a GPU, as one machine-readable
// line, so that bench/compare_torch.py can set it beside the same step in PyTorch run in another
// process.
//
//   tally_train_step_bench --model mlp|cnn|deep-mlp|gpt-tiny|... --batch B --threads T --warmup W
//                          --steps N [--seq-len L] [--device cpu|cuda[:N]] [--seed S]
//                          [--checkpoint POLICY] [--breakdown]
//
// prints
//
//   model=mlp batch=256 threads=1 steps=50 median_ms=... p10_ms=... p90_ms=... min_ms=...
//   loss=... device=cpu checkpoint=none activation_peak_bytes=... allocated_peak_bytes=...
//   reserved_peak_bytes=...
//
// (the peaks: the device allocator's over all the steps, warm-up included), so that
// bench/checkpoint_table.py can set policies beside each other; a transformer's line adds
// seq_len=L. The inputs are bench/step_fixture.h's: random images, or for a transformer random
// tokens [B, L] (L: --seq-len, default 64 or the context if shorter).
//
// and, with --breakdown, the medians of the step's phases timed separately (forward with the
// loss, backward, optimizer) from a second run of the same length. Plain std::chrono rather than
// Google Benchmark: the comparison needs the same warm-up and step counts on both sides, which
// Benchmark's own iteration choice would not give. train_step returns the loss as a float, so
// on a GPU too every timed step ends with the device idle.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "allocator/scope.h"
#include "autograd/engine.h"
#include "autograd/nn_functions.h"
#include "bench/step_fixture.h"
#include "core/cuda_context.h"
#include "core/device.h"
#include "core/device_registry.h"
#include "core/tensor.h"
#include "nn/models.h"
#include "nn/trainer.h"
#include "nn/transformer_config.h"
#include "ops/threads.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kUsageError = 2;
constexpr std::int64_t kDefaultSeqLen = 64;

struct Options {
  std::string model = "mlp";
  std::int64_t batch = 256;
  int threads = 1;
  std::int64_t warmup = 5;
  std::int64_t steps = 30;
  std::int64_t seq_len = 0;  // 0: the default, for a transformer
  std::uint64_t seed = 0;
  tally::Device device;
  tally::nn::CheckpointPolicy checkpoint;
  bool breakdown = false;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "tally_train_step_bench: %s\n", message.c_str());
  std::exit(kUsageError);
}

// Whole-string parse: "12x" or "" is an error rather than 12 or 0.
std::int64_t parse_int(std::string_view flag, const std::string& text, std::int64_t min) {
  std::size_t used = 0;
  std::int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size()) {
    usage_error(std::string(flag) + " expects an integer, got '" + text + "'");
  }
  if (value < min) {
    usage_error(std::string(flag) + " must be at least " + std::to_string(min) + ", got " + text);
  }
  return value;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::printf(
          "usage: tally_train_step_bench [--model mlp|cnn|gpt-tiny|...] [--batch B]\n"
          "                              [--threads T] [--warmup W] [--steps N] [--seq-len L]\n"
          "                              [--device cpu|cuda[:N]] [--seed S]\n"
          "                              [--checkpoint POLICY] [--breakdown]\n"
          "Times W warm-up and N measured nn::train_step calls on the device (SGD, lr 0.01,\n"
          "fixed random inputs [B,1,28,28] and labels, or for a transformer tokens [B,L]\n"
          "and labels [B*L], L 64 by default) and prints median_ms, p10_ms, p90_ms, min_ms.\n");
      std::exit(0);
    }
    if (flag == "--breakdown") {
      o.breakdown = true;
      continue;
    }
    if (i + 1 >= argc) usage_error(std::string(flag) + " needs a value (see --help)");
    const std::string value = argv[++i];
    if (flag == "--model") {
      o.model = value;
    } else if (flag == "--batch") {
      o.batch = parse_int(flag, value, 1);
    } else if (flag == "--threads") {
      o.threads = static_cast<int>(parse_int(flag, value, 1));
    } else if (flag == "--warmup") {
      o.warmup = parse_int(flag, value, 0);
    } else if (flag == "--steps") {
      o.steps = parse_int(flag, value, 1);
    } else if (flag == "--seq-len") {
      o.seq_len = parse_int(flag, value, 1);
    } else if (flag == "--device") {
      try {
        o.device = tally::Device::parse(value);
      } catch (const std::exception& error) {
        usage_error(error.what());
      }
    } else if (flag == "--seed") {
      o.seed = static_cast<std::uint64_t>(parse_int(flag, value, 0));
    } else if (flag == "--checkpoint") {
      try {
        o.checkpoint = tally::nn::parse_checkpoint_policy(value);
      } catch (const std::exception& error) {
        usage_error(error.what());
      }
    } else {
      usage_error("unknown flag '" + std::string(flag) + "' (see --help)");
    }
  }
  const std::vector<std::string> names = tally::nn::model_names();
  if (std::find(names.begin(), names.end(), o.model) == names.end()) {
    usage_error("unknown model '" + o.model + "' (see tally info)");
  }
  const auto transformer = tally::nn::zoo_transformer(o.model);
  if (!transformer && o.seq_len != 0)
    usage_error("--seq-len is for transformers; " + o.model + " takes images");
  if (transformer) {
    if (o.seq_len == 0) o.seq_len = std::min(kDefaultSeqLen, transformer->context);
    if (o.seq_len > transformer->context) {
      usage_error("--seq-len " + std::to_string(o.seq_len) + " exceeds " + o.model +
                  "'s context of " + std::to_string(transformer->context));
    }
  }
  return o;
}

// The sample at rank p% (rounded) of an already sorted, non-empty sample.
double percentile(const std::vector<double>& sorted, double p) {
  const double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
  return sorted[static_cast<std::size_t>(std::lround(rank))];
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return percentile(v, 50.0);
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The body of nn::train_step with a clock read between its phases, each after the device has
// finished the phase's work. Kept in step with nn/trainer.cpp by hand; the headline figure always
// comes from nn::train_step itself.
void timed_phases(tally::nn::Module& model, tally::nn::Optimizer& optimizer,
                  const tally::Tensor& images, const tally::Tensor& labels, double* forward_ms,
                  double* backward_ms, double* optimizer_ms) {
  auto start = Clock::now();
  optimizer.zero_grad();
  tally::Tensor loss;
  {
    tally::PhaseGuard phase(tally::Phase::forward);
    const tally::Tensor logits = model.call(images, "");
    tally::MemoryScope scope("loss");
    loss = tally::cross_entropy(logits, labels);
  }
  tally::synchronize(images.device());
  *forward_ms = ms_since(start);
  start = Clock::now();
  {
    tally::PhaseGuard phase(tally::Phase::backward);
    tally::backward(loss);
  }
  tally::synchronize(images.device());
  *backward_ms = ms_since(start);
  start = Clock::now();
  {
    tally::PhaseGuard phase(tally::Phase::optimizer);
    optimizer.step();
  }
  static_cast<void>(loss.item());
  *optimizer_ms = ms_since(start);
}

int run(const Options& o) {
  const tally::Device device = o.device;
  tally::ops::set_num_threads(o.threads);
  tally::bench::StepFixture f =
      tally::bench::make_step_fixture(o.model, o.batch, o.seq_len, device, o.seed, o.checkpoint);

  for (std::int64_t i = 0; i < o.warmup; ++i) {
    f.step();
  }
  std::vector<double> times;
  times.reserve(static_cast<std::size_t>(o.steps));
  float loss = 0.0f;
  for (std::int64_t i = 0; i < o.steps; ++i) {
    const auto start = Clock::now();
    loss = f.step();
    times.push_back(ms_since(start));
  }
  // A non-finite loss would mean the step measured was not a real one.
  if (!std::isfinite(loss)) {
    std::fprintf(stderr, "tally_train_step_bench: loss is not finite (%g)\n", loss);
    return 1;
  }
  std::sort(times.begin(), times.end());
  const tally::AllocatorStats stats = tally::device_allocator(device)->stats();
  std::printf(
      "model=%s batch=%lld threads=%d steps=%lld median_ms=%.4f p10_ms=%.4f p90_ms=%.4f "
      "min_ms=%.4f loss=%.5f device=%s checkpoint=%s activation_peak_bytes=%lld "
      "allocated_peak_bytes=%lld reserved_peak_bytes=%lld%s\n",
      o.model.c_str(), static_cast<long long>(o.batch), o.threads, static_cast<long long>(o.steps),
      percentile(times, 50.0), percentile(times, 10.0), percentile(times, 90.0), times.front(),
      loss, device.str().c_str(), o.checkpoint.name().c_str(),
      static_cast<long long>(stats.of(tally::Tag::activation).allocated_bytes.peak),
      static_cast<long long>(stats.total.allocated_bytes.peak),
      static_cast<long long>(stats.reserved_bytes.peak),
      o.seq_len ? (" seq_len=" + std::to_string(o.seq_len)).c_str() : "");

  if (o.breakdown) {
    std::vector<double> forward, backward, step;
    for (std::int64_t i = 0; i < o.steps; ++i) {
      double forward_ms = 0.0, backward_ms = 0.0, optimizer_ms = 0.0;
      timed_phases(*f.model, *f.optimizer, f.images, f.labels, &forward_ms, &backward_ms,
                   &optimizer_ms);
      forward.push_back(forward_ms);
      backward.push_back(backward_ms);
      step.push_back(optimizer_ms);
    }
    std::printf("forward_ms=%.4f backward_ms=%.4f optimizer_ms=%.4f\n", median(forward),
                median(backward), median(step));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  try {
    return run(options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "tally_train_step_bench: %s\n", error.what());
    return 1;
  }
}
