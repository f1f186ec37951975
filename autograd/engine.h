// Backward: runs the tape from a root in reverse topological order, accumulating into leaves'
// gradients. Each node's saved tensors are released as soon as it has run, and each gradient
// buffer as soon as its node has consumed it, so the trace shows the real backward profile.
#pragma once

#include "core/tensor.h"

namespace tally {

// Backpropagates from `root`; `grad` defaults to ones for a one-element root and is released as
// soon as the root's node has used it. The tape it ran through is released: a second backward
// through it is an error.
void backward(const Tensor& root, Tensor grad = Tensor());

}  // namespace tally
