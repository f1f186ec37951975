// The memory of training without running it: the unchanged model, loss, backward and optimizer
// on a sim device (core/device.h), which requests exactly what its target device would, in the
// same order, with no data and no arithmetic. One step takes milliseconds on any machine.
//
// What sim cannot see it assumes, and says so: data-dependent branches take the path of a step
// without overflow (a loss scaler never skips), and cuDNN's convolution workspaces follow the
// stated policy of ops/sim_libraries.h.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "allocator/event.h"
#include "allocator/stats.h"
#include "nn/checkpoint_policy.h"
#include "nn/trainer.h"
#include "ops/flop_count.h"

namespace tally::nn {

// What one kind of model state holds once a step is done (autocast's parameter copies: at their
// peak, during a forward pass), against the textbook's bytes per parameter for its precision and
// optimizer.
struct ModelStateCheck {
  Tag tag = Tag::parameter;  // parameter, gradient, optimizer or cast_cache
  // The tag its bytes carry: `tag`, except for gradients under data parallelism, which live in
  // the communication buckets.
  Tag measured = Tag::parameter;
  std::int64_t bytes_per_parameter = 0;  // for optimizer state under ZeRO-1: before sharding
  std::int64_t textbook = 0;   // bytes_per_parameter * parameters (/ the optimizer's shards)
  std::int64_t requested = 0;  // live bytes asked for, with this tag
  std::int64_t allocated = 0;  // after the allocator's rounding
  std::int64_t blocks = 0;     // live blocks with this tag
};

struct EstimateResult {
  std::int64_t parameters = 0;
  std::int64_t steps = 0;
  std::vector<ModelStateCheck> model_states;  // after the last step
  double seconds = 0.0;                       // the simulated steps, wall time
  std::int64_t blocks = 0;                    // the model's blocks, as checkpoint policies count
  std::vector<BlockSegment> segments;         // options.checkpoint's cut of them
  ops::FlopCount flops{};  // the last step's GEMM and convolution FLOPs, by phase
};

// Blocks in the checkpointed segments: recomputed once per step.
std::int64_t recomputed_blocks(const std::vector<BlockSegment>& segments);

// The textbook's bytes per parameter for each model state under `options`. fp32: weights 4,
// gradients 4, SGD momentum 4, AdamW's two moments 8. amp-*: the same, plus 2 for autocast's
// 16-bit copies of the weights during a forward pass. fp16, bf16: weights 2, gradients 2, and the
// optimizer's f32 master weights 4 beside its state.
std::vector<std::pair<Tag, std::int64_t>> textbook_bytes_per_parameter(const TrainOptions& options);

// Builds options.model on options.device (a sim device, configured by the caller: its
// allocator, with recording on, holds the trace and statistics), its optimizer and a batch, as
// train() does, then runs `steps` training steps. Throws OutOfMemoryError when the device's
// capacity is exceeded, as a real device would.
EstimateResult simulate_training(const TrainOptions& options, std::int64_t steps = 1);

}  // namespace tally::nn
