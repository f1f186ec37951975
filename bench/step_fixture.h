// One zoo model ready for nn::train_step: the model, SGD (lr 0.01) and fixed random inputs, as
// tally_train_step_bench and tally_record_step_bench time it. Image models train on random images
// [B, 1, 28, 28] with labels [B]; the zoo's transformers on random tokens [B, L] with the
// next-token labels' shape [B * L], both uniform over the vocabulary, as bench/compare_torch.py's
// PyTorch side draws them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/device.h"
#include "core/tensor.h"
#include "nn/checkpoint_policy.h"
#include "nn/module.h"
#include "nn/optimizer.h"

namespace tally::bench {

struct StepFixture {
  std::shared_ptr<nn::Module> model;
  std::unique_ptr<nn::Optimizer> optimizer;
  Tensor images;  // or tokens
  Tensor labels;

  float step();  // one nn::train_step; its loss
};

// `seq_len` is for transformers only (0 for image models). Seeds the global generator with `seed`
// for the weights, and draws the inputs from their own generator seeded alike.
StepFixture make_step_fixture(const std::string& model, std::int64_t batch, std::int64_t seq_len,
                              Device device, std::uint64_t seed,
                              const nn::CheckpointPolicy& checkpoint);

}  // namespace tally::bench
