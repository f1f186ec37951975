// tally's CUDA ops against the bare CUDA call that bounds each, timed in one process on one
// stream and printed as ratios:
//   GEMM         ops::matmul on cuda tensors against cublasGemmEx on the same operands (f32 with
//                f32 compute, f16 and bf16 with f32 accumulation): tally / cuBLAS time, target
//                <= 1.05 at 4096^3. The outputs of the two are compared too.
//   elementwise  ops::add and ops::unary(relu) bandwidth (bytes read + written per second)
//                against a device-to-device cudaMemcpyAsync's: tally / copy, target >= 0.8.
//   segments     what one segment call costs through CudaBacking, in host microseconds:
//                cudaMalloc and cudaFree of a 20 MiB segment, and mapping (cuMemCreate, cuMemMap,
//                cuMemSetAccess) and unmapping a 2 MiB page, against the per-call costs
//                `tally replay` assumes until a measurement replaces them.
//
//   tally_cuda_bench [--iters N] [--rounds R]
//
// A plain main timed with CUDA events rather than Google Benchmark: the GPU machines this runs on
// have no Google Benchmark, and each figure is the ratio of two loops that must run interleaved
// with the same call counts, which Benchmark's own iteration choice would not give. Each case
// runs a warm-up, then R rounds; a round times N calls of each side between two events on tally's
// compute stream (so tally's host-side work counts only where it keeps the GPU waiting), the
// sides taking turns going first. Each side keeps its median round. Lines starting "result " are
// the ones scripts/gpu_check.sh puts in its summary; missed targets do not change the exit status.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "allocator/cuda_backing.h"
#include "allocator/cuda_check.h"
#include "allocator/cuda_device.h"
#include "allocator/error.h"
#include "allocator/segment_cost.h"
#include "core/cuda_context.h"
#include "core/tensor.h"
#include "ops/cuda_libraries.cuh"
#include "ops/elementwise.h"
#include "ops/matmul.h"

namespace {

using tally::Device;
using tally::DType;
using tally::Tensor;

constexpr int kUsageError = 2;
constexpr double kGemmTarget = 1.05;      // tally / cuBLAS time, at most
constexpr double kBandwidthTarget = 0.8;  // tally / copy bandwidth, at least

struct Options {
  int iters = 20;
  int rounds = 5;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "tally_cuda_bench: %s\n", message.c_str());
  std::exit(kUsageError);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::printf(
          "usage: tally_cuda_bench [--iters N] [--rounds R]\n"
          "Times tally's matmul against cublasGemmEx and its elementwise ops against a\n"
          "device-to-device copy on cuda:0, N calls per round, R rounds; prints the ratios\n"
          "and what cudaMalloc, cudaFree and mapping a 2 MiB page cost per call.\n");
      std::exit(0);
    }
    if (flag != "--iters" && flag != "--rounds") {
      usage_error("unknown flag '" + std::string(flag) + "' (see --help)");
    }
    if (i + 1 >= argc) usage_error(std::string(flag) + " needs a value");
    const std::string value = argv[++i];
    std::size_t used = 0;
    int n = 0;
    try {
      n = std::stoi(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != value.size() || n < 1) {
      usage_error(std::string(flag) + " expects a positive integer, got '" + value + "'");
    }
    (flag == "--iters" ? o.iters : o.rounds) = n;
  }
  return o;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Milliseconds per call of a body queued `iters` times between two events on one stream.
class EventTimer {
 public:
  explicit EventTimer(cudaStream_t stream) : stream_(stream) {
    CUDA_CHECK(cudaEventCreate(&start_));
    CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~EventTimer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;

  double per_call_ms(int iters, const std::function<void()>& body) {
    CUDA_CHECK(cudaEventRecord(start_, stream_));
    for (int i = 0; i < iters; ++i) body();
    CUDA_CHECK(cudaEventRecord(stop_, stream_));
    CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0.0f;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    return static_cast<double>(ms) / iters;
  }

 private:
  cudaStream_t stream_;
  cudaEvent_t start_ = nullptr;
  cudaEvent_t stop_ = nullptr;
};

struct Timing {
  double tally_ms;
  double base_ms;
};

Timing compare(EventTimer& timer, const Options& o, const std::function<void()>& tally_side,
               const std::function<void()>& base_side) {
  const int warmup = std::max(2, o.iters / 4);
  timer.per_call_ms(warmup, tally_side);
  timer.per_call_ms(warmup, base_side);
  std::vector<double> tally_ms, base_ms;
  for (int r = 0; r < o.rounds; ++r) {
    if (r % 2 == 0) tally_ms.push_back(timer.per_call_ms(o.iters, tally_side));
    base_ms.push_back(timer.per_call_ms(o.iters, base_side));
    if (r % 2 == 1) tally_ms.push_back(timer.per_call_ms(o.iters, tally_side));
  }
  return {median(tally_ms), median(base_ms)};
}

// Values in [-1, 1) from a cheap hash of the index: random enough for timing and for comparing
// two products, and fast to make for a quarter of a billion elements.
std::vector<float> test_values(std::int64_t n, std::uint64_t seed) {
  std::vector<float> v(static_cast<std::size_t>(n));
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (float& f : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    f = static_cast<float>(x >> 40) / static_cast<float>(1 << 23) - 1.0f;
  }
  return v;
}

// ||got - want|| / ||want|| over all elements.
double relative_error(const Tensor& got, const Tensor& want) {
  const std::vector<float> g = got.to_floats();
  const std::vector<float> w = want.to_floats();
  double diff = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    diff += (static_cast<double>(g[i]) - w[i]) * (static_cast<double>(g[i]) - w[i]);
    norm += static_cast<double>(w[i]) * w[i];
  }
  return std::sqrt(diff / std::max(norm, 1e-30));
}

struct Result {
  std::string label;
  std::string text;
};

void bench_gemm(EventTimer& timer, cublasHandle_t handle, const Options& o, Device cuda,
                std::vector<Result>& results) {
  struct Shape3 {
    std::int64_t m, k, n;
  };
  // The headline square product, a mid-size one, and the zoo MLP's first layer at batch 256.
  const Shape3 shapes[] = {{4096, 4096, 4096}, {1024, 1024, 1024}, {256, 784, 1024}};
  std::printf("%-6s %-16s %10s %10s %8s %9s %10s\n", "gemm", "m x k x n", "tally ms", "cublas ms",
              "ratio", "TFLOP/s", "rel err");
  for (const Shape3& s : shapes) {
    const std::vector<float> a_values = test_values(s.m * s.k, 1);
    const std::vector<float> b_values = test_values(s.k * s.n, 2);
    for (DType dtype : {DType::f32, DType::f16, DType::bf16}) {
      const Tensor a = Tensor::from_values(a_values, {s.m, s.k}, dtype).to(cuda);
      const Tensor b = Tensor::from_values(b_values, {s.k, s.n}, dtype).to(cuda);
      const Tensor c = Tensor::empty({s.m, s.n}, dtype, cuda);
      const float alpha = 1.0f, beta = 0.0f;
      const cudaDataType type = tally::ops::cuda::blas_data_type(dtype, "bench");
      // Row-major C = A B is column-major C^T = B^T A^T: B (n x k, leading n) times A (k x m,
      // leading k) into C (n x m, leading n).
      const auto bare = [&] {
        CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(s.n),
                                  static_cast<int>(s.m), static_cast<int>(s.k), &alpha,
                                  b.raw_data(), type, static_cast<int>(s.n), a.raw_data(), type,
                                  static_cast<int>(s.k), &beta, c.raw_data(), type,
                                  static_cast<int>(s.n), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      };
      const auto through_tally = [&] { static_cast<void>(tally::ops::matmul(a, b)); };
      const Timing t = compare(timer, o, through_tally, bare);
      bare();
      const double error = relative_error(tally::ops::matmul(a, b), c);
      // f32 products that differ by more than reordering would mean TF32 or a wrong result.
      const bool mismatch = error > (dtype == DType::f32 ? 1e-4 : 1e-2);
      const double tflops = 2.0 * s.m * s.k * s.n / (t.tally_ms * 1e-3) / 1e12;
      const std::string shape =
          std::to_string(s.m) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n);
      const double ratio = t.tally_ms / t.base_ms;
      std::printf("%-6s %-16s %10.4f %10.4f %8.3f %9.1f %10.2g%s\n",
                  std::string(tally::dtype_name(dtype)).c_str(), shape.c_str(), t.tally_ms,
                  t.base_ms, ratio, tflops, error, mismatch ? "  MISMATCH" : "");
      if (s.m == 4096) {
        char text[160];
        std::snprintf(text, sizeof text, "%.3f (<= %.2f) %s; tally %.3f ms, %.0f TFLOP/s%s", ratio,
                      kGemmTarget, ratio <= kGemmTarget ? "PASS" : "MISS", t.tally_ms, tflops,
                      mismatch ? "; outputs MISMATCH" : "");
        results.push_back(
            {"gemm " + std::string(tally::dtype_name(dtype)) + " 4096^3 vs cublas", text});
      }
    }
  }
}

void bench_elementwise(EventTimer& timer, cudaStream_t stream, const Options& o, Device cuda,
                       std::vector<Result>& results) {
  // 256 MiB per f32 operand: far beyond L2, so every pass goes to device memory.
  const std::int64_t n = std::int64_t{1} << 26;
  const std::vector<float> values = test_values(n, 3);
  const Tensor src = Tensor::from_values(values, {n}, DType::f32).to(cuda);
  const Tensor dst = Tensor::empty({n}, DType::f32, cuda);
  const std::size_t copy_bytes = static_cast<std::size_t>(n) * sizeof(float);
  const auto copy = [&] {
    CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), copy_bytes, cudaMemcpyDeviceToDevice,
                               stream));
  };
  std::printf("\n%-14s %12s %12s %8s\n", "elementwise", "tally GB/s", "copy GB/s", "ratio");
  struct Case {
    const char* name;
    DType dtype;
    int operands;  // tensors read and written per element
  };
  for (const Case& c : {Case{"add f32", DType::f32, 3}, Case{"add f16", DType::f16, 3},
                        Case{"relu f32", DType::f32, 2}}) {
    const Tensor x = Tensor::from_values(values, {n}, c.dtype).to(cuda);
    const Tensor y = Tensor::from_values(values, {n}, c.dtype).to(cuda);
    const auto op = [&] {
      static_cast<void>(c.operands == 3 ? tally::ops::add(x, y)
                                        : tally::ops::unary(tally::ops::UnaryOp::relu, x));
    };
    const Timing t = compare(timer, o, op, copy);
    const double op_bytes = static_cast<double>(c.operands) * n * tally::dtype_size(c.dtype);
    const double tally_gbps = op_bytes / (t.tally_ms * 1e-3) / 1e9;
    const double copy_gbps = 2.0 * copy_bytes / (t.base_ms * 1e-3) / 1e9;
    const double ratio = tally_gbps / copy_gbps;
    std::printf("%-14s %12.0f %12.0f %8.3f\n", c.name, tally_gbps, copy_gbps, ratio);
    char text[160];
    std::snprintf(text, sizeof text, "%.3f (>= %.2f) %s; %.0f GB/s, copy %.0f GB/s", ratio,
                  kBandwidthTarget, ratio >= kBandwidthTarget ? "PASS" : "MISS", tally_gbps,
                  copy_gbps);
    results.push_back({std::string(c.name) + " bandwidth vs copy", text});
  }
}

// Host microseconds per call of `body(i)` for i in [0, iters).
double per_call_us(int iters, const std::function<void(int)>& body) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) body(i);
  const std::chrono::duration<double, std::micro> spent = std::chrono::steady_clock::now() - start;
  return spent.count() / iters;
}

void bench_segments(const Options& o, std::vector<Result>& results) {
  constexpr std::size_t kSegment = std::size_t{20} << 20;  // the caching strategy's large segment
  constexpr std::size_t kPage = tally::Backing::kPage;
  tally::CudaBacking backing(0);
  std::vector<void*> segments(static_cast<std::size_t>(o.iters));
  const std::size_t range = kPage * segments.size();
  void* base = backing.reserve(range);
  const auto page = [&](int i) { return static_cast<char*>(base) + kPage * i; };
  std::vector<double> malloc_us, free_us, map_us, unmap_us;
  for (int r = 0; r <= o.rounds; ++r) {  // round 0 warms up the driver's paths
    const double m = per_call_us(o.iters, [&](int i) { segments[i] = backing.allocate(kSegment); });
    const double f =
        per_call_us(o.iters, [&](int i) { backing.deallocate(segments[i], kSegment); });
    const double mp = per_call_us(o.iters, [&](int i) {
      if (!backing.map(page(i))) {
        throw tally::Error(tally::ErrorKind::device, "CudaBacking::map", "",
                           "a 2 MiB page was refused");
      }
    });
    const double u = per_call_us(o.iters, [&](int i) { backing.unmap(page(i)); });
    if (r == 0) continue;
    malloc_us.push_back(m);
    free_us.push_back(f);
    map_us.push_back(mp);
    unmap_us.push_back(u);
  }
  backing.unreserve(base, range);
  const tally::SegmentCosts assumed;
  std::printf("\n%-22s %10s %10s\n", "segment call", "us", "assumed");
  const struct {
    const char* name;
    double us;
    double assumed;
  } rows[] = {{"cudaMalloc 20 MiB", median(malloc_us), assumed.runtime.alloc_us},
              {"cudaFree 20 MiB", median(free_us), assumed.runtime.free_us},
              {"map a 2 MiB page", median(map_us), assumed.vmm_page.alloc_us},
              {"unmap a 2 MiB page", median(unmap_us), assumed.vmm_page.free_us}};
  std::string text;
  for (const auto& row : rows) {
    std::printf("%-22s %10.1f %10.1f\n", row.name, row.us, row.assumed);
    char part[96];
    std::snprintf(part, sizeof part, "%s%s %.1f us (assumed %.1f)", text.empty() ? "" : ", ",
                  row.name, row.us, row.assumed);
    text += part;
  }
  results.push_back({"segment calls vs replay's costs", text});
}

int run(const Options& o) {
  const tally::CudaProbe probe = tally::probe_cuda();
  if (probe.devices.empty()) {
    std::fprintf(stderr, "tally_cuda_bench: no CUDA device: %s\n", probe.reason.c_str());
    return 1;
  }
  const Device cuda{tally::DeviceKind::cuda, 0};
  const auto stream = static_cast<cudaStream_t>(tally::compute_stream(cuda).handle);
  std::printf("tally_cuda_bench on cuda:0 (%s), %d calls per round, median of %d rounds\n\n",
              probe.devices[0].name.c_str(), o.iters, o.rounds);
  cublasHandle_t handle = nullptr;
  CUBLAS_CHECK(cublasCreate(&handle));
  std::vector<Result> results;
  try {
    CUBLAS_CHECK(cublasSetStream(handle, stream));
    // The math mode of tally's own handles (ops/cuda_libraries.cu): both sides then compute the
    // same product, and the ratio is tally's overhead alone.
    CUBLAS_CHECK(cublasSetMathMode(handle, CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION));
    EventTimer timer(stream);
    bench_gemm(timer, handle, o, cuda, results);
    bench_elementwise(timer, stream, o, cuda, results);
    bench_segments(o, results);
  } catch (...) {
    cublasDestroy(handle);
    throw;
  }
  CUBLAS_CHECK(cublasDestroy(handle));
  std::printf("\n");
  for (const Result& r : results) std::printf("result %s | %s\n", r.label.c_str(), r.text.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  try {
    return run(options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "tally_cuda_bench: %s\n", error.what());
    return 1;
  }
}
