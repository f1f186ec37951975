// A stand-in for Fashion-MNIST on machines without the dataset: the same shapes, sizes and
// classes, drawn from Philox so that it is the same everywhere. Each class has a fixed random
// 28x28 template; a sample is its class's template blended with uniform noise (3:1), so a model
// can learn it and its loss falls, as with the real data. It measures memory and speed, never
// accuracy worth reporting.
#pragma once

#include "nn/data/fashion_mnist.h"

namespace tally::data {

// 60000 samples for train and 10000 for test, like Fashion-MNIST; the splits draw different
// samples from the same class templates.
Dataset synthetic_fashion_mnist(Split split);

}  // namespace tally::data
