// The CUDA libraries behind matmul and conv2d (cuBLAS, cuDNN) as the rest of tally sees them: the
// memory rule they imply, their settings, the workspace they hold and the convolution algorithms
// cuDNN was asked to run. CUDA-free, with its state in ops/cuda_libraries.cpp, so that every
// build reads and sets the same things; the handles themselves are in ops/cuda_libraries.cuh.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "allocator/units.h"
#include "core/tensor.h"

namespace tally::ops {

// Whether ops on `device` request memory as the CUDA libraries need it rather than as the host's
// kernels do: cuBLAS multiplies 16-bit matrices without f32 copies, and cuDNN convolves dense
// operands of their own dtype with a workspace of its choosing instead of a column buffer. True
// on cuda and on sim:cuda, which mimics it (ops/sim_libraries.h).
inline bool library_memory_rule(Device device) {
  return device.kind == DeviceKind::cuda ||
         (device.kind == DeviceKind::sim && device.sim_target() == SimTarget::cuda);
}

// The workspace a cuBLAS handle holds on a GPU of this compute capability (major * 10 + minor).
// PyTorch's default (its CUBLAS_WORKSPACE_CONFIG): ":4096:8", 8 chunks of 4 MiB = 32 MiB, on
// 9.x and 10.x, where NVIDIA recommends 32 MiB; ":4096:2:16:8", 2 chunks of 4 MiB and 8 of
// 16 KiB = 8.125 MiB, on the others.
std::size_t cublas_workspace_size(int compute_capability);

// The library scopes (allocator/scope.h: "(cublas)", "(cudnn)") that the libraries' workspaces
// are allocated under on cuda and sim:cuda, whichever module calls.
inline constexpr std::string_view kCublasScope = "cublas";
inline constexpr std::string_view kCudnnScope = "cudnn";

inline constexpr std::size_t kDefaultCudnnWorkspaceLimit = 64 * MiB;

enum class ConvPass : std::uint8_t { forward, backward_data, backward_filter };
inline constexpr int kConvPasses = 3;

// cuDNN's convolution algorithms by enum value, named as its enums are without the prefix they
// share (CUDNN_CONVOLUTION_FWD_ALGO_, CUDNN_CONVOLUTION_BWD_DATA_ALGO_,
// CUDNN_CONVOLUTION_BWD_FILTER_ALGO_). ops/conv2d_cuda.cu checks them against cudnn.h.
inline constexpr std::array<std::string_view, 8> kConvForwardAlgorithms{
    "IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING",
    "WINOGRAD",      "WINOGRAD_NONFUSED"};
inline constexpr std::array<std::string_view, 6> kConvBackwardDataAlgorithms{
    "0", "1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
inline constexpr std::array<std::string_view, 7> kConvBackwardFilterAlgorithms{
    "0", "1", "FFT", "3", "WINOGRAD", "WINOGRAD_NONFUSED", "FFT_TILING"};

// The name of algorithm `algorithm` of `pass` ("IMPLICIT_PRECOMP_GEMM", "1", "FFT"), or "?" for a
// value cuDNN does not define.
constexpr std::string_view conv_algorithm_name(ConvPass pass, int algorithm) {
  const auto pick = [algorithm](const auto& names) {
    return algorithm >= 0 && static_cast<std::size_t>(algorithm) < names.size()
               ? names[static_cast<std::size_t>(algorithm)]
               : std::string_view("?");
  };
  switch (pass) {
    case ConvPass::forward:
      return pick(kConvForwardAlgorithms);
    case ConvPass::backward_data:
      return pick(kConvBackwardDataAlgorithms);
    case ConvPass::backward_filter:
      return pick(kConvBackwardFilterAlgorithms);
  }
  return "?";
}

// Whether the algorithm sums products directly, as the host's kernels do, rather than through an
// FFT or a Winograd transform, whose f32 results can differ from the direct sum by more than
// f32 tolerances allow.
constexpr bool conv_algorithm_exact(ConvPass pass, int algorithm) {
  const std::string_view name = conv_algorithm_name(pass, algorithm);
  return name != "?" && !name.starts_with("FFT") && !name.starts_with("WINOGRAD");
}

// One convolution problem and the algorithm cuDNN's heuristic chose for it.
struct ConvAlgoRecord {
  // The problem: the choice depends on every field of it.
  ConvPass pass = ConvPass::forward;
  int device = 0;  // cuda device index
  DType dtype = DType::f32;
  Shape input;   // [N, C, H, W]
  Shape weight;  // [O, C, KH, KW]
  std::int64_t stride = 1, padding = 0;
  bool tf32 = false;
  std::size_t workspace_limit = 0;
  // Asked for exact algorithms only (set_cudnn_exact_algorithms). The choices file
  // (ops/conv_algorithm_table.h) has no column for it and reads back false: `tally train`, which
  // writes the file, never asks.
  bool exact = false;
  // The choice: cuDNN's enum values for the pass's algorithm and for its math type, and the
  // workspace each call of this problem allocates (tag workspace) and frees when queued.
  int algorithm = -1;
  int math_type = 0;
  std::size_t workspace_bytes = 0;

  bool operator==(const ConvAlgoRecord&) const = default;
  bool same_problem(const ConvAlgoRecord& o) const {
    return pass == o.pass && device == o.device && dtype == o.dtype && input == o.input &&
           weight == o.weight && stride == o.stride && padding == o.padding && tf32 == o.tf32 &&
           workspace_limit == o.workspace_limit && exact == o.exact;
  }
};

namespace detail {

struct LibraryState {
  std::atomic<bool> allow_tf32{false};
  std::atomic<std::size_t> cudnn_workspace_limit{kDefaultCudnnWorkspaceLimit};
  std::atomic<bool> cudnn_exact_algorithms{false};
  std::mutex mutex;  // guards the members below
  std::vector<ConvAlgoRecord> conv_algorithms;
  // By pass: the index in conv_algorithms of the choice its latest call ran with, -1 before any.
  std::array<int, kConvPasses> last_conv_choice{-1, -1, -1};
  // By device (kind, index): cuda devices and sim:cuda.
  std::map<std::pair<DeviceKind, int>, std::size_t> cublas_workspace;
};

// Never destroyed, like the allocators (core/device_registry.cpp).
LibraryState& library_state();

}  // namespace detail

// TF32 tensor cores for f32 GEMMs and convolutions on cuda. Off unless asked for, so that f32
// products are full f32 products, as on the host.
void set_allow_tf32(bool allow);
bool allow_tf32();
// The most workspace one cuDNN convolution may take (kDefaultCudnnWorkspaceLimit unless set):
// algorithms that need more are passed over.
void set_cudnn_workspace_limit(std::size_t bytes);
std::size_t cudnn_workspace_limit();
// cuDNN convolutions on cuda take only exact algorithms (conv_algorithm_exact), for results
// compared with the host's at f32 tolerance. Off unless asked for: training takes the fastest
// algorithm the heuristic ranks first, FFT and Winograd included.
void set_cudnn_exact_algorithms(bool exact);
bool cudnn_exact_algorithms();

// Every choice made so far, in order, one per distinct problem: the heuristic runs once for a
// problem, and later calls reuse its answer.
std::vector<ConvAlgoRecord> conv_algorithm_log();

// The choice the latest convolution of `pass` on a cuda device ran with; nullopt before the
// first. Library state that only a test reads: the op-table test (tests/ops/
// cuda_op_table_test.cpp) names the algorithm behind each convolution row's result with it.
std::optional<ConvAlgoRecord> last_conv_choice(ConvPass pass);

// The workspace the cuBLAS handles of `device` (cuda, or sim:cuda) hold (tally memory, tag
// workspace) for the rest of the process: none before the device's first GEMM.
std::size_t cublas_workspace_bytes(Device device);

std::string_view conv_pass_name(ConvPass pass);

// The problem a convolution pass on cuda device `device` poses cuDNN, under the current TF32,
// workspace limit and exact-algorithm settings: the key its choice is logged and looked up under.
ConvAlgoRecord conv_problem(ConvPass pass, int device, DType dtype, const Shape& input,
                            const Shape& weight, std::int64_t stride, std::int64_t padding);

}  // namespace tally::ops
