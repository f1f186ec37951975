// The memory of one AdamW step of the zoo's mlp and cnn at batch 8 on the CPU, per tag, in every
// precision arrangement, against figures worked out here from the layer shapes, the element sizes
// and the allocator's rounding of every block up to 512 bytes. The arrangements differ in what
// they keep: fp32 parameters, gradients and moments (4 + 4 + 8 B per parameter); amp-* the same
// plus autocast's 16-bit copies of every parameter (2 B), all alive at the end of the forward pass;
// fp16 and bf16 16-bit parameters and gradients (2 + 2 B) and f32 masters beside the moments
// (4 + 8 B). Activations that 16-bit ops save are 2 B per element where fp32's are 4.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "step_trace.h"

namespace tally {
namespace {

constexpr std::int64_t kBatch = 8;

std::int64_t rounded(std::int64_t bytes) {
  return (bytes + 511) / 512 * 512;
}

// The elements of each parameter in the order the model creates them (nn/models.cpp).
std::vector<std::int64_t> parameter_elements(const std::string& model) {
  if (model == "mlp") return {784 * 1024, 1024, 1024 * 1024, 1024, 1024 * 10, 10};
  // conv 1->32 3x3, conv 32->64 3x3, linear 64*5*5->128, linear 128->10: weight, then bias.
  return {32 * 1 * 3 * 3, 32, 64 * 32 * 3 * 3, 64, 128 * 64 * 5 * 5, 128, 10 * 128, 10};
}

// One block per parameter of `element_size` bytes an element.
std::int64_t parameter_blocks(const std::string& model, std::int64_t element_size) {
  const auto elements = parameter_elements(model);
  return std::accumulate(
      elements.begin(), elements.end(), std::int64_t{0},
      [&](std::int64_t sum, std::int64_t n) { return sum + rounded(n * element_size); });
}

// fp16 and bf16 convert the parameters one by one (Module::convert_parameters): each 16-bit copy
// is made while its f32 original is still a parameter, which the optimizer then takes as its
// master. The tag peaks at the copy where the most f32 bytes are still left.
std::int64_t conversion_peak(const std::string& model) {
  const auto elements = parameter_elements(model);
  std::int64_t peak = 0;
  for (std::size_t k = 0; k < elements.size(); ++k) {
    std::int64_t live = rounded(elements[k] * 2);
    for (std::size_t i = 0; i < elements.size(); ++i) {
      live += rounded(elements[i] * (i < k ? 2 : 4));
    }
    peak = std::max(peak, live);
  }
  return peak;
}

// The outputs the step saves for backward that the allow-listed ops make in the compute dtype:
// mlp's two ReLU outputs [8, 1024]; cnn's ReLU outputs [8, 32, 26, 26], [8, 64, 11, 11] and
// [8, 128] and its max-pool outputs [8, 32, 13, 13] and [8, 64, 5, 5] (the inputs of the next
// convolution and of the flattening linear).
std::int64_t compute_dtype_activations(const std::string& model, std::int64_t element_size) {
  const std::vector<std::int64_t> elements =
      model == "mlp"
          ? std::vector<std::int64_t>{kBatch * 1024, kBatch * 1024}
          : std::vector<std::int64_t>{kBatch * 32 * 26 * 26, kBatch * 64 * 11 * 11, kBatch * 128,
                                      kBatch * 32 * 13 * 13, kBatch * 64 * 5 * 5};
  std::int64_t bytes = 0;
  for (const std::int64_t n : elements) bytes += rounded(n * element_size);
  return bytes;
}

// Saved in every arrangement at the same size: cross-entropy's f32 log-probabilities [8, 10]
// (the loss is deny-listed) and, for cnn, each max-pool's i64 argmax indices.
std::int64_t fixed_activations(const std::string& model) {
  std::int64_t bytes = rounded(kBatch * 10 * 4);
  if (model == "cnn")
    bytes += rounded(kBatch * 32 * 13 * 13 * 8) + rounded(kBatch * 64 * 5 * 5 * 8);
  return bytes;
}

struct Figures {
  std::int64_t parameter, gradient, optimizer, cast_cache, activation, workspace, other;
};

Figures hand_computed(const std::string& model, nn::Precision precision) {
  const bool half = precision != nn::Precision::fp32;
  const std::int64_t f32 = parameter_blocks(model, 4);
  const std::int64_t b16 = parameter_blocks(model, 2);
  Figures f{};
  f.parameter = nn::keeps_master_weights(precision) ? conversion_peak(model) : f32;
  f.gradient = nn::keeps_master_weights(precision) ? b16 : f32;
  // AdamW's two moments, f32; the masters beside them for fp16 and bf16.
  f.optimizer = (nn::keeps_master_weights(precision) ? 3 : 2) * f32;
  // amp-* on mlp: the first moment of the first weight (3211264 B) is served by a 3571712-byte
  // block the forward pass's parameter copies and f32 temporaries left free in the first 20 MiB
  // segment; the large pool splits a block only when more than 1 MiB would remain (PyTorch's
  // rule), so the whole block is handed out, 360448 B over.
  if (nn::is_autocast(precision) && model == "mlp") f.optimizer += 3571712 - 3211264;
  f.cast_cache = nn::is_autocast(precision) ? b16 : 0;
  // 16-bit arrangements also save the input cast to 16 bits for the first layer, [8, 1, 28, 28].
  f.activation = compute_dtype_activations(model, half ? 2 : 4) + fixed_activations(model) +
                 (half ? rounded(kBatch * 784 * 2) : 0);
  // The host's convolutions unfold one image at a time into an f32 column buffer, the largest
  // being the second's, [32 * 3 * 3, 11 * 11]; a 16-bit convolution also sums one image's output,
  // [64, 11 * 11], in f32 before rounding it. mlp has no convolution.
  if (model == "cnn") {
    f.workspace = rounded(32 * 9 * 121 * 4) + (half ? rounded(64 * 121 * 4) : 0);
  }
  // The batch: images [8, 1, 28, 28] f32 and labels [8] i64.
  f.other = rounded(kBatch * 784 * 4) + rounded(kBatch * 8);
  return f;
}

using Case = test::PrecisionCase;

class PrecisionMemory : public ::testing::TestWithParam<Case> {};

TEST_P(PrecisionMemory, OneStepPeaksPerTagMatchHandComputedFigures) {
  const auto& [model, precision] = GetParam();
  const auto allocator = configure_device(Device::cpu(), {});
  test::run_steps(model, "adamw", Device::cpu(), 1, kBatch, precision);
  const AllocatorStats s = allocator->stats();
  const auto peak = [&](Tag tag) { return s.of(tag).allocated_bytes.peak; };
  const Figures want = hand_computed(model, precision);
  EXPECT_EQ(peak(Tag::parameter), want.parameter);
  EXPECT_EQ(peak(Tag::gradient), want.gradient);
  EXPECT_EQ(peak(Tag::optimizer), want.optimizer);
  EXPECT_EQ(peak(Tag::cast_cache), want.cast_cache);
  EXPECT_EQ(peak(Tag::activation), want.activation);
  EXPECT_EQ(peak(Tag::workspace), want.workspace);
  EXPECT_EQ(peak(Tag::other), want.other);
  EXPECT_EQ(peak(Tag::communication), 0);
}

INSTANTIATE_TEST_SUITE_P(Arrangements, PrecisionMemory,
                         ::testing::ValuesIn(test::precision_cases(true)),
                         test::precision_case_name);

// What 16-bit ops save is exactly half of what the same ops save in fp32: every one of those
// outputs is a whole number of 512-byte blocks in both at batch 8, so the halving survives the
// rounding. The measured peaks less the activations whose size does not change with precision.
TEST(PrecisionMemory, ActivationsSavedBy16BitOpsAreHalfOfFp32s) {
  for (const std::string& model : test::grid_models()) {
    std::int64_t measured[2];
    for (const nn::Precision precision : {nn::Precision::fp32, nn::Precision::bf16}) {
      const auto allocator = configure_device(Device::cpu(), {});
      test::run_steps(model, "adamw", Device::cpu(), 1, kBatch, precision);
      measured[precision == nn::Precision::bf16] =
          allocator->stats().of(Tag::activation).allocated_bytes.peak;
    }
    const std::int64_t fp32 = measured[0] - fixed_activations(model);
    const std::int64_t b16 = measured[1] - fixed_activations(model) - rounded(kBatch * 784 * 2);
    EXPECT_GT(b16, 0) << model;
    EXPECT_EQ(2 * b16, fp32) << model;
  }
}

}  // namespace
}  // namespace tally
