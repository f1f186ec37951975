// All-reduce bandwidth of a process group, in the format of NVIDIA's nccl-tests
// (all_reduce_perf), so that its tables can be set beside theirs:
//
//   mpirun -np 4 tally_allreduce_bench [--device cpu|cuda] [--min-bytes 8] [--max-bytes 64M]
//                                      [--warmup 5] [--iters 20]
//
// cpu runs through MPI (a world of one without mpirun), cuda through NCCL on the GPU of each
// rank's local rank. The all-reduce is in place on f32, summed; sizes double from --min-bytes to
// --max-bytes. time is the mean over the ranks of one all-reduce's share of --iters issued back
// to back and waited for together; algbw = size / time, busbw = algbw * 2 (n - 1) / n (what each
// rank's link carries in a ring); #wrong counts, over every rank, the elements that differ from
// the expected sum after one more all-reduce of fresh data. With NCCL it also prints the device
// memory the communicator took.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "allocator/error.h"
#include "core/cuda_context.h"
#include "core/tensor.h"
#include "distributed/world.h"
#include "tally/build_config.h"

#if TALLY_WITH_NCCL
#include "distributed/nccl_process_group_cuda.h"
#endif

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::minutes kTimeout{2};

struct Options {
  std::string device = "cpu";
  std::int64_t min_bytes = 8;
  std::int64_t max_bytes = std::int64_t{64} << 20;
  int warmup = 5;
  int iters = 20;
};

std::int64_t parse_bytes(const std::string& text) {
  std::size_t end = 0;
  std::int64_t value = std::stoll(text, &end);
  const std::string unit = text.substr(end);
  if (unit == "K") value <<= 10;
  if (unit == "M") value <<= 20;
  if (unit == "G") value <<= 30;
  if (!unit.empty() && unit != "K" && unit != "M" && unit != "G") {
    throw tally::UsageError("allreduce_bench: bad size " + text + " (a number, K, M or G)");
  }
  return value;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc)
      throw tally::UsageError("allreduce_bench: " + std::string(flag) + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--device") {
      o.device = value;
    } else if (flag == "--min-bytes") {
      o.min_bytes = parse_bytes(value);
    } else if (flag == "--max-bytes") {
      o.max_bytes = parse_bytes(value);
    } else if (flag == "--warmup") {
      o.warmup = std::stoi(value);
    } else if (flag == "--iters") {
      o.iters = std::stoi(value);
    } else {
      throw tally::UsageError("allreduce_bench: unknown flag " + std::string(flag));
    }
  }
  if (o.min_bytes < 4 || o.max_bytes < o.min_bytes || o.iters < 1 || o.warmup < 0) {
    throw tally::UsageError("allreduce_bench: need 4 <= --min-bytes <= --max-bytes, --iters >= 1");
  }
  return o;
}

std::shared_ptr<tally::dist::ProcessGroup> make_group(tally::Device device) {
  if (device.kind == tally::DeviceKind::cpu) return tally::dist::world_group(device, kTimeout);
#if TALLY_WITH_NCCL
  auto group = std::make_shared<tally::dist::NcclProcessGroup>(device, kTimeout);
  const double mib = 1024.0 * 1024.0;
  std::printf("# nccl communicator: %lld bytes (%.1f MiB) of device memory at creation\n",
              static_cast<long long>(group->communicator_bytes()),
              static_cast<double>(group->communicator_bytes()) / mib);
  return group;
#else
  throw tally::UsageError("allreduce_bench: " + device.str() +
                          " needs NCCL, and this build has none");
#endif
}

// Every element of `t` set to `value`, on its device.
void fill(const tally::Tensor& t, float value) {
  const tally::Tensor host =
      tally::Tensor::from_values(std::vector<float>(static_cast<std::size_t>(t.numel()), value),
                                 t.shape(), t.dtype(), t.tag());
  tally::copy_into(t, host);
}

int run(const Options& o) {
  tally::Device device = tally::Device::parse(o.device);
  const auto place = tally::dist::launched_world();
  if (device.kind == tally::DeviceKind::cuda && place) device.index = place->local_rank;
  const auto group = make_group(device);
  const int n = group->size();
  const bool print = group->rank() == 0;
  if (print) {
    std::printf(
        "# tally all-reduce: backend %s, %d rank(s), %s, in place, f32 sum, %d iterations "
        "after %d warm-up\n",
        group->backend().c_str(), n, device.str().c_str(), o.iters, o.warmup);
    std::printf("#%11s %13s %9s %7s %9s %8s %8s %7s\n", "size", "count", "type", "redop", "time",
                "algbw", "busbw", "#wrong");
    std::printf("#%11s %13s %9s %7s %9s %8s %8s %7s\n", "(B)", "(elements)", "", "", "(us)",
                "(GB/s)", "(GB/s)", "");
  }
  const float mine = static_cast<float>(group->rank() + 1);
  const float expected = static_cast<float>(n * (n + 1) / 2);
  double busbw_sum = 0;
  int rows = 0;
  for (std::int64_t bytes = o.min_bytes; bytes <= o.max_bytes; bytes *= 2) {
    const std::int64_t count = bytes / 4;
    const tally::Tensor t =
        tally::Tensor::empty({count}, tally::DType::f32, device, tally::Tag::communication);
    fill(t, mine);
    for (int i = 0; i < o.warmup; ++i) group->all_reduce(t, tally::dist::ReduceOp::sum)->wait();
    tally::synchronize(device);
    group->barrier();
    const auto start = Clock::now();
    std::vector<std::unique_ptr<tally::dist::Work>> works;
    for (int i = 0; i < o.iters; ++i)
      works.push_back(group->all_reduce(t, tally::dist::ReduceOp::sum));
    for (const auto& w : works) w->wait();
    tally::synchronize(device);
    const double us =
        std::chrono::duration<double, std::micro>(Clock::now() - start).count() / o.iters;

    fill(t, mine);
    group->all_reduce(t, tally::dist::ReduceOp::sum)->wait();
    std::int64_t wrong = 0;
    for (float v : t.to_floats()) wrong += v != expected;
    const std::vector<double> totals = group->sum_on_host({us, static_cast<double>(wrong)});
    const double mean_us = totals[0] / n;
    const double algbw = static_cast<double>(count * 4) / (mean_us * 1e3);
    const double busbw = algbw * 2.0 * (n - 1) / n;
    busbw_sum += busbw;
    ++rows;
    if (print) {
      std::printf("%12lld %13lld %9s %7s %9.2f %8.3f %8.3f %7lld\n",
                  static_cast<long long>(count * 4), static_cast<long long>(count), "float", "sum",
                  mean_us, algbw, busbw, static_cast<long long>(totals[1]));
      std::fflush(stdout);
    }
  }
  if (print) std::printf("# Avg bus bandwidth    : %.3f GB/s\n", rows ? busbw_sum / rows : 0.0);
#if TALLY_WITH_NCCL
  if (print && device.kind == tally::DeviceKind::cuda) {
    std::printf("# device memory in use after the runs: %zu bytes (every process's)\n",
                tally::dist::cuda_used_bytes(device));
  }
#endif
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const tally::Error& e) {
    std::fprintf(stderr, "allreduce_bench: %s\n", e.what());
    tally::dist::abort_world(tally::exit_status(e.kind()));
    return tally::exit_status(e.kind());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "allreduce_bench: %s\n", e.what());
    tally::dist::abort_world(1);
    return 1;
  }
}
