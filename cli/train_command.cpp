// `tally train`: trains a zoo model on Fashion-MNIST with progress on stderr, then prints the
// test accuracy and the memory report (or one JSON object with --json).
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>

#include "allocator/error.h"
#include "allocator/peak_analysis.h"
#include "allocator/trace_csv.h"
#include "allocator/units.h"
#include "cli/commands.h"
#include "cli/device_memory_report.h"
#include "cli/flag_validators.h"
#include "cli/memory_report.h"
#include "cli/model_options.h"
#include "cli/parallel_options.h"
#include "cli/report_html.h"
#include "cli/sim_options.h"
#include "core/device_registry.h"
#include "distributed/world.h"
#include "nn/data/fashion_mnist.h"
#include "nn/data/synthetic.h"
#include "nn/data/tokens.h"
#include "nn/trainer.h"
#include "ops/conv_algorithm_table.h"
#include "ops/cuda_libraries.h"
#include "ops/cuda_overhead.h"
#include "ops/threads.h"

namespace tally::cli {
namespace {

// Training a transformer on this machine's CPU at its full context (1024 for GPT-2) is rarely
// what is wanted; estimate keeps the full context by default.
constexpr std::int64_t kTrainSeqLenCap = 256;
constexpr std::string_view kTextPrefix = "text:";

struct TrainArgs {
  nn::TrainOptions train;
  std::string device = "cpu";
  std::string dataset;  // empty: fashion-mnist for image models, synthetic for transformers
  std::string data_dir;
  std::string alloc_conf;
  std::string trace;
  std::string report;
  std::string conv_log;
  SimArgs sim;
  ParallelArgs parallel;
  bool sim_given = false;             // any of the sim options on the command line
  std::optional<float> lr;            // omitted: the optimizer's default
  std::optional<float> weight_decay;  // likewise
  int threads = 0;
  bool json = false;
};

// "trace.csv" for rank 1 of several: "trace.rank1.csv", so that each rank writes its own.
std::string rank_path(const std::string& path, int rank, int world_size) {
  if (path.empty() || world_size == 1) return path;
  const std::filesystem::path p(path);
  return (p.parent_path() /
          (p.stem().string() + ".rank" + std::to_string(rank) + p.extension().string()))
      .string();
}

// Redrawn in place on a terminal; on a pipe or file, one line per tenth of the run.
class ProgressPrinter {
 public:
  ProgressPrinter() : terminal_(isatty(STDERR_FILENO) != 0) {}
  void operator()(const nn::Progress& p) {
    const bool last = p.step == p.total_steps;
    if (!terminal_ && !last && p.step % std::max<std::int64_t>(p.total_steps / 10, 1) != 0) return;
    std::fprintf(stderr, "%sepoch %lld/%lld  step %lld/%lld  loss %.4f  %.0f samples/s%s",
                 terminal_ ? "\r" : "", static_cast<long long>(p.epoch),
                 static_cast<long long>(p.epochs), static_cast<long long>(p.step),
                 static_cast<long long>(p.total_steps), p.loss, p.samples_per_s,
                 terminal_ && !last ? "" : "\n");
    std::fflush(stderr);
  }

 private:
  bool terminal_;
};

int run_train(TrainArgs args) {
  nn::TrainOptions& o = args.train;
  o.device = Device::parse(args.device);
  o.lr = args.lr.value_or(nn::default_lr(o.optimizer));
  o.weight_decay = args.weight_decay.value_or(nn::default_weight_decay(o.optimizer));
  if (args.threads > 0) ops::set_num_threads(args.threads);
  // Under mpirun, plain "cuda" is the GPU of the rank's local rank, as torchrun's LOCAL_RANK says.
  if (args.parallel.ddp && args.device == "cuda") {
    if (const auto place = dist::launched_world()) o.device.index = place->local_rank;
  }
  AllocatorConfig config = alloc_conf_from(args.alloc_conf);
  config.record = true;  // the report reconstructs the peak from the trace
  const bool sim = o.device.kind == DeviceKind::sim;
  if (!sim && args.sim_given) {
    throw UsageError(
        "--device-preset, --capacity and --conv-workspace describe a sim device, not " +
        o.device.str());
  }
  if (!args.conv_log.empty() && o.device.kind != DeviceKind::cuda) {
    throw UsageError("--conv-log records cuDNN's choices on a cuda device, not " + o.device.str());
  }
  const bool default_seq_len = o.seq_len == 0;
  o = nn::resolve_model(o);
  if (o.transformer && default_seq_len) o.seq_len = std::min(o.seq_len, kTrainSeqLenCap);
  if (args.dataset.empty()) args.dataset = o.transformer ? "synthetic" : "fashion-mnist";
  const bool text = args.dataset.starts_with(kTextPrefix);
  if (o.transformer && args.dataset == "fashion-mnist") {
    throw UsageError(o.model + " reads tokens: use --dataset synthetic or text:PATH");
  }
  if (!o.transformer && text) {
    throw UsageError(o.model + " reads images: --dataset text:PATH is for the transformers");
  }
  if (args.dataset != "fashion-mnist" && !args.data_dir.empty()) {
    throw UsageError("--data-dir names a directory of Fashion-MNIST files; --dataset " +
                     args.dataset + " reads none");
  }
  const auto allocator = sim ? configure_sim(resolve_sim(args.sim, o.device), config)
                             : configure_device(o.device, config);
  int rank = 0, world_size = 1;
  if (args.parallel.ddp) {
    if (sim) {
      throw UsageError(
          "--ddp runs on cpu or cuda; for one rank of a job on sim, use tally "
          "estimate --world-size");
    }
    const auto timeout = std::chrono::milliseconds(std::llround(args.parallel.timeout_s * 1e3));
    auto group = dist::world_group(o.device, timeout);
    rank = group->rank();
    world_size = group->size();
    o.data_parallel = dist::data_parallel(std::move(group), args.parallel.ddp_options(), o);
  }
  args.trace = rank_path(args.trace, rank, world_size);
  args.report = rank_path(args.report, rank, world_size);
  // Under DDP rank 0 alone speaks, but every rank writes its files and, with --json, its object.
  const bool quiet = rank != 0;

  const auto dir =
      args.data_dir.empty() ? data::fashion_mnist_dir() : std::filesystem::path(args.data_dir);
  const auto load = [&](data::Split split) {
    if (text) return data::text_tokens(args.dataset.substr(kTextPrefix.size()), split, o.seq_len);
    if (o.transformer) return data::synthetic_tokens(split, o.transformer->vocab, o.seq_len);
    return args.dataset == "synthetic" ? data::synthetic_fashion_mnist(split)
                                       : data::load_fashion_mnist(split, dir);
  };
  const data::Dataset train_set = load(data::Split::train);
  const data::Dataset test_set = load(data::Split::test);
  if (!args.json && !quiet) {
    const std::string windows =
        o.transformer ? " sequences of " + std::to_string(o.seq_len) + " tokens" : "";
    std::cout << "tally train: " << o.model << " on " << args.dataset << " (" << train_set.n
              << " train, " << test_set.n << " test" << windows << "), batch " << o.batch << ", "
              << nn::precision_name(o.precision)
              << (o.checkpoint.kind == nn::CheckpointPolicy::Kind::none
                      ? ""
                      : ", checkpoint " + o.checkpoint.name())
              << ", " << o.optimizer << " lr " << o.lr << ", " << o.device.str() << ", "
              << allocator->strategy_name() << " allocator, " << ops::num_threads()
              << " BLAS thread(s), seed " << o.seed
              << (args.parallel.ddp ? ", " + parallel_text(args.parallel, world_size, rank) : "")
              << std::endl;
  }
  ProgressPrinter progress;
  nn::TrainSummary summary;
  try {
    summary = nn::train(o, train_set, test_set,
                        quiet ? std::function<void(const nn::Progress&)>() : std::ref(progress));
  } catch (const OutOfMemoryError&) {
    // The trace up to the failure is what explains it.
    if (!args.trace.empty()) write_trace_csv(allocator->trace(), args.trace);
    throw;
  }
  // Taken while the allocator still holds its segments, so that the driver counts them too.
  const auto device_memory = ops::device_memory(o.device, *allocator);
  // So that the trace ends with every segment returned that no block holds: all of them on cpu;
  // on cuda and sim:cuda the cuBLAS workspace's stays (ops/cuda_libraries.h).
  allocator->empty_cache();
  const Trace trace = allocator->trace();
  const RunPeaks peaks = find_run_peaks(trace);
  if (!args.trace.empty()) write_trace_csv(trace, args.trace);
  if (!args.report.empty()) write_html_report(trace, args.report);
  if (!args.conv_log.empty()) ops::write_conv_algorithms(ops::conv_algorithm_log(), args.conv_log);
  if (args.json) {
    nlohmann::json j = memory_report_json(peaks.training);
    j["evaluation"] = memory_report_json(peaks.evaluation);
    if (!sim) {
      nlohmann::json norms = nlohmann::json::object();
      for (const auto& [name, norm] : summary.parameter_norms) norms[name] = norm;
      j["parameter_norms"] = norms;
    }
    j["model"] = o.model;
    if (o.transformer) j["seq_len"] = o.seq_len;
    j["device"] = o.device.str();
    j["batch"] = o.batch;
    j["optimizer"] = o.optimizer;
    j["precision"] = nn::precision_name(o.precision);
    j["checkpoint"] = o.checkpoint.name();
    if (args.parallel.ddp) {
      j["world_size"] = world_size;
      j["rank"] = rank;
      j["zero"] = args.parallel.zero;
      j["bucket_mb"] = args.parallel.bucket_mb;
      j["overlap"] = !args.parallel.no_overlap;
    }
    j["loss_scale"] = summary.loss_scale;
    j["skipped_steps"] = summary.skipped_steps;
    j["parameters"] = summary.parameters;
    j["steps"] = summary.steps;
    j["samples_per_s"] = summary.samples_per_s;
    j["train_seconds"] = summary.seconds;
    j["final_loss"] = summary.final_loss;
    j["test_accuracy"] = summary.test_accuracy;
    if (device_memory) j["device_memory"] = device_memory_json(*device_memory);
    std::cout << j.dump() << '\n';
    return 0;
  }
  if (quiet) return 0;
  std::printf("\n%lld steps in %.1f s (%.0f samples/s), final loss %.4f\n",
              static_cast<long long>(summary.steps), summary.seconds, summary.samples_per_s,
              summary.final_loss);
  if (nn::scales_loss(o.precision)) {
    std::printf(
        "loss scale %g after the last step, %lld step(s) skipped for inf or NaN gradients\n",
        summary.loss_scale, static_cast<long long>(summary.skipped_steps));
  }
  if (sim) {
    std::printf("no loss or accuracy on %s: it holds no data\n\n", o.device.str().c_str());
  } else {
    std::printf("test accuracy %.4f\n\n", summary.test_accuracy);
  }
  std::cout << format_memory_report(peaks.training, "memory of the training steps") << '\n'
            << format_evaluation_peaks(peaks.evaluation);
  if (!args.trace.empty()) {
    std::cout << "\ntrace: " << trace.events.size() << " events written to " << args.trace << '\n';
  }
  if (!args.report.empty()) std::cout << "report written to " << args.report << '\n';
  if (!args.conv_log.empty()) {
    std::cout << "cuDNN's convolution choices written to " << args.conv_log
              << " (tally estimate --conv-workspace " << args.conv_log << ")\n";
  }
  if (device_memory) std::cout << '\n' << format_device_memory(*device_memory);
  return 0;
}

}  // namespace

Command add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* sub = app.add_subcommand("train", "Train a model and report its memory use");
  nn::TrainOptions& o = args->train;
  add_model_options(*sub, o);
  sub->add_option("--dataset", args->dataset,
                  "fashion-mnist (the default for image models); synthetic: random data of the "
                  "model's shapes (the default for transformers); text:PATH: a file's bytes as "
                  "tokens, for the transformers")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            if (value == "fashion-mnist" || value == "synthetic") return "";
            if (value.starts_with(kTextPrefix) && value.size() > kTextPrefix.size()) return "";
            return "expected fashion-mnist, synthetic or text:PATH, got '" + value + "'";
          },
          "DATASET"));
  const CLI::Option* data_dir =
      sub->add_option("--data-dir", args->data_dir,
                      "dataset directory (default: TALLY_DATA_DIR or the Debian package's)");
  auto* epochs = sub->add_option("--epochs", o.epochs, "epochs to train")
                     ->check(whole_in(1, 1000))
                     ->capture_default_str();
  sub->add_option("--steps", o.steps, "train this many steps instead of whole epochs")
      ->check(whole_in(1, 100000000))
      ->excludes(epochs);
  sub->add_option("--lr", args->lr,
                  "learning rate (default 0.1 for sgd, 0.001 for adamw); 0 is refused, as it would "
                  "leave the weights unchanged")
      ->check(real_in(0, End::open, 1000, End::closed));
  sub->add_option("--weight-decay", args->weight_decay,
                  "weight decay (default 0 for sgd, 0.01 for adamw)")
      ->check(real_in(0, End::closed, 1, End::closed));
  sub->add_option("--device", args->device,
                  "cpu, cuda, cuda:N, or sim:cuda / sim:cpu: the run's memory without its data "
                  "or arithmetic")
      ->capture_default_str();
  add_sim_options(*sub, args->sim);
  add_ddp_options(*sub, args->parallel);
  sub->add_option("--threads", args->threads, "BLAS threads (default: OpenBLAS's choice)")
      ->check(whole_in(1, 1024));
  sub->add_option("--alloc-conf", args->alloc_conf,
                  "allocator configuration, e.g. strategy:caching,max_split_size_mb:64");
  sub->add_option("--trace", args->trace, "write the allocator trace (CSV) to this file");
  sub->add_option("--report", args->report, "write the HTML memory report to this file");
  sub->add_option("--conv-log", args->conv_log,
                  "write cuDNN's convolution choices on cuda to this file, for tally estimate "
                  "--conv-workspace");
  sub->add_flag("--json", args->json,
                "print one JSON summary object on stdout instead of the report");
  return {sub,
          [args, sub] {
            args->sim_given = sim_options_given(*sub);
            return run_train(*args);
          },
          {data_dir}};
}

}  // namespace tally::cli
