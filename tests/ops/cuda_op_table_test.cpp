// The op table's CUDA column: every row runs on cuda and on cpu from the same inputs, and the
// cuda forward output and every input gradient must match the CPU kernels (the oracle) within a
// tolerance per dtype. One test per dtype walks the whole table and prints one line per row,
//   op <row> <dtype> max_rel_err <error>[ algos fwd=<A> bwd_data=<B> bwd_filter=<C>]
// (error = max |cuda - cpu| / max(1, |cpu|) over the output and the gradients; the algorithms,
// for convolution rows, are the cuDNN algorithms each pass ran, named as ops/cuda_libraries.h
// names them), which scripts/gpu_check.sh collects into its table. cuDNN is kept to exact
// algorithms here (set_cudnn_exact_algorithms): FFT and Winograd may stray past the f32
// tolerance, and a row compares kernels, not their algorithms' rounding. A row whose cleanup
// recorded errors (allocator/cleanup_errors.h) fails with the first of them, and the walk goes
// on. Skips, saying why, without a CUDA device.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "allocator/cleanup_errors.h"
#include "allocator/cuda_device.h"
#include "allocator/error.h"
#include "autograd/engine.h"
#include "autograd/variable.h"
#include "core/generator.h"
#include "ops/cuda_libraries.h"
#include "tests/ops/op_table.h"

namespace tally::testing {
namespace {

const Device kCuda{DeviceKind::cuda, 0};

struct Outcome {
  std::vector<float> output;
  std::vector<std::vector<float>> grads;  // one per differentiable input
};

// Runs row `c` on `device` in `dtype` from the given values, then backward from L = sum(w * y)
// with random weights w drawn from `weight_seed`, the same on every device. Random ops (dropout)
// draw from a generator seeded alike for every run.
Outcome run_case(const OpCase& c, const std::vector<RefTensor>& refs, std::uint64_t weight_seed,
                 Device device, DType dtype) {
  manual_seed(weight_seed);
  std::vector<Tensor> inputs;
  for (std::size_t j = 0; j < refs.size(); ++j) {
    inputs.push_back(to_tensor(refs[j], c.inputs[j], device, dtype));
    if (is_differentiable(c.inputs[j])) set_requires_grad(inputs.back());
  }
  Tensor y = c.run(inputs);
  Outcome r{y.to_floats(), {}};
  if (!c.check_backward) return r;
  std::mt19937_64 rng(weight_seed);
  const RefTensor weights = random_ref({y.shape()}, rng);
  backward(y, to_tensor(weights, {y.shape()}, device, y.dtype()));
  for (std::size_t j = 0; j < inputs.size(); ++j) {
    if (is_differentiable(c.inputs[j])) r.grads.push_back(grad(inputs[j]).to_floats());
  }
  return r;
}

double max_rel_error(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return INFINITY;
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double scale = std::max(1.0, std::fabs(static_cast<double>(want[i])));
    const double error = std::fabs(static_cast<double>(got[i]) - want[i]) / scale;
    worst = std::isnan(error) ? INFINITY : std::max(worst, error);
  }
  return worst;
}

struct DTypeParam {
  DType dtype;
  double tolerance;  // f32 ~1e-5; 16-bit ~1e-2 (a rounding or two apart)
};

void PrintTo(const DTypeParam& p, std::ostream* os) {
  *os << dtype_name(p.dtype);
}

// " algos fwd=<A> bwd_data=<B> bwd_filter=<C>": the choices the latest convolution passes ran
// with, when all three were this row's (its input and weight shapes, in `dtype`); "" otherwise.
std::string conv_algorithms(const OpCase& c, DType dtype) {
  if (c.inputs.size() < 2) return "";
  std::string text = " algos";
  for (const auto& [pass, label] : {std::pair{ops::ConvPass::forward, "fwd"},
                                    std::pair{ops::ConvPass::backward_data, "bwd_data"},
                                    std::pair{ops::ConvPass::backward_filter, "bwd_filter"}}) {
    const std::optional<ops::ConvAlgoRecord> choice = ops::last_conv_choice(pass);
    if (!choice || choice->dtype != dtype || choice->input != c.inputs[0].shape ||
        choice->weight != c.inputs[1].shape) {
      return "";
    }
    text += std::string(" ") + label + "=" +
            std::string(ops::conv_algorithm_name(pass, choice->algorithm));
  }
  return text;
}

// A failure for the row if freeing its tensors recorded errors; the record starts afresh for
// the next row.
void expect_no_cleanup_errors(const OpCase& c, DType dtype) {
  const CleanupErrors cleanup = cleanup_errors();
  if (cleanup.count == 0) return;
  ADD_FAILURE() << c.name << " " << dtype_name(dtype) << ": " << cleanup_errors_summary(cleanup);
  reset_cleanup_errors();
}

class CudaOpTable : public ::testing::TestWithParam<DTypeParam> {
 protected:
  void SetUp() override {
    const CudaProbe probe = probe_cuda();
    if (probe.devices.empty()) GTEST_SKIP() << "no CUDA device: " << probe.reason;
    ops::set_cudnn_exact_algorithms(true);
    reset_cleanup_errors();
    std::printf("cuDNN convolutions: exact algorithms only (no FFT, no Winograd)\n");
  }
  void TearDown() override { ops::set_cudnn_exact_algorithms(false); }
};

TEST_P(CudaOpTable, EveryRowMatchesTheCpuKernels) {
  const DType dtype = GetParam().dtype;
  const double tolerance = GetParam().tolerance;
  for (const OpCase& c : all_cases()) {
    std::mt19937_64 rng(std::hash<std::string>{}(c.name));
    std::vector<RefTensor> refs;
    for (const InputSpec& spec : c.inputs) refs.push_back(random_ref(spec, rng));
    const std::uint64_t weight_seed = rng();
    Outcome cpu;
    try {
      cpu = run_case(c, refs, weight_seed, Device::cpu(), dtype);
    } catch (const Error& e) {
      // Rows whose op takes only f32 on the CPU have no 16-bit oracle.
      std::printf("op %s %s skipped (%s)\n", c.name.c_str(), dtype_name(dtype).data(), e.what());
      continue;
    }
    Outcome cuda;
    try {
      cuda = run_case(c, refs, weight_seed, kCuda, dtype);
    } catch (const Error& e) {
      ADD_FAILURE() << c.name << " " << dtype_name(dtype) << " on cuda: " << e.what();
      expect_no_cleanup_errors(c, dtype);
      continue;
    }
    double error = max_rel_error(cuda.output, cpu.output);
    EXPECT_EQ(cuda.grads.size(), cpu.grads.size()) << c.name;
    for (std::size_t j = 0; j < std::min(cuda.grads.size(), cpu.grads.size()); ++j) {
      error = std::max(error, max_rel_error(cuda.grads[j], cpu.grads[j]));
    }
    const std::string algorithms = c.name.starts_with("conv2d/") ? conv_algorithms(c, dtype) : "";
    std::printf("op %s %s max_rel_err %.3g%s\n", c.name.c_str(), dtype_name(dtype).data(), error,
                algorithms.c_str());
    EXPECT_LE(error, tolerance) << c.name << " " << dtype_name(dtype);
    expect_no_cleanup_errors(c, dtype);
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaOpTable,
                         ::testing::Values(DTypeParam{DType::f32, 1e-5},
                                           DTypeParam{DType::f16, 1e-2},
                                           DTypeParam{DType::bf16, 3e-2}),
                         [](const auto& info) {
                           return std::string(dtype_name(info.param.dtype));
                         });

}  // namespace
}  // namespace tally::testing
