// What cuBLAS and cuDNN take on sim:cuda, where they do not run, so that a sim:cuda step requests
// what the same step on cuda requests, in the same order.
//
// cuBLAS: exactly as on cuda. The first GEMM on the device takes the handle's workspace,
// cublas_workspace_size() of the sim device's compute capability (core/device_registry.h), under
// the scope "(cublas)", and holds it for the rest of the process.
//
// cuDNN: a convolution pass takes a workspace (scope "(cudnn)") whose size is that of the algorithm
// cuDNN's heuristic picks on the real GPU, which only that GPU can tell. This is the one place
// where sim does not know what cuda does; it follows a stated policy, which reports name:
//   bound     every pass takes cudnn_workspace_limit(), the most cuDNN may take: an upper bound.
//   recorded  the workspace a cuda run logged for the same problem (conv_algorithm_log(), saved
//             by `tally train --device cuda --conv-log FILE`): exact for that GPU, library and
//             settings. Problems the log lacks take the bound, and are counted.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ops/cuda_libraries.h"

namespace tally::ops {

enum class ConvWorkspacePolicy : std::uint8_t { bound, recorded };

struct ConvWorkspaceSource {
  ConvWorkspacePolicy policy = ConvWorkspacePolicy::bound;
  std::vector<ConvAlgoRecord> recorded;  // the recorded policy's choices
  std::string origin;                    // where they came from, for reports
};

void set_sim_conv_workspace(ConvWorkspaceSource source);

// How sim:cuda's convolution passes were served since the source was last set.
struct SimConvCounts {
  std::size_t recorded = 0;  // found in the recorded choices
  std::size_t bounded = 0;   // given the bound (every pass under the bound policy)
};
SimConvCounts sim_conv_counts();

// One line for reports, e.g. "bound (64.00 MiB per cuDNN convolution pass, an upper bound)".
std::string describe_sim_conv_workspace();

namespace sim {

// Where a GEMM on `device` would use its cuBLAS handle: the first one takes the workspace.
void take_blas_workspace(Device device);

// Where a cuDNN convolution pass on `device` would run: takes its workspace and frees it.
// `input` and `weight` are the pass's convolution shapes ([N, C, H, W], [O, C, KH, KW]).
void take_conv_workspace(ConvPass pass, Device device, DType dtype, const Shape& input,
                         const Shape& weight, std::int64_t stride, std::int64_t padding);

}  // namespace sim
}  // namespace tally::ops
