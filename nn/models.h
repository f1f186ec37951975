// The model zoo, by name.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nn/module.h"

namespace tally::nn {

// "mlp": layers = Flatten, Linear(784, 1024), ReLU, Linear(1024, 1024), ReLU, Linear(1024, 10).
// "cnn": features = Conv2d(1, 32, 3), ReLU, MaxPool2d(2), Conv2d(32, 64, 3), ReLU, MaxPool2d(2);
//        classifier = Flatten, Linear(1600, 128), ReLU, Linear(128, 10).
// "deep-mlp": flatten, stem = Linear(784, 1024), blocks = 32 x ResidualBlock(1024, dropout 0.1),
//        head = Linear(1024, 10): 67,988,490 parameters, checkpointed per block.
// These take [B, 1, 28, 28] images and return [B, 10] logits. The transformers of
// zoo_transformer_names() (nn/transformer_config.h) take i64 tokens [B, T] and return
// [B * T, vocab] logits (nn/transformer.h). Parameters are drawn from the
// default generator, so manual_seed() first makes them reproducible. Unknown names throw a
// one-line invalid_argument error.
std::shared_ptr<Module> make_model(std::string_view name, Device device = Device::cpu());
std::vector<std::string> model_names();

}  // namespace tally::nn
