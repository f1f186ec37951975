// Gradient checkpointing, as PyTorch's non-reentrant torch.utils.checkpoint: a segment's forward
// keeps only its inputs (tag activation); backward runs the segment again (phase recompute) from
// them, with the random generator and autocast as they were in forward, then backpropagates
// through the recomputed tape. Dropout masks are therefore the same, and so are the gradients,
// bit for bit. What the recomputation saves is checked against what the forward would have
// saved, tensor by tensor, and a difference is a usage error naming the segment.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tally {

using SegmentFn = std::function<Tensor(const std::vector<Tensor>& inputs)>;

// Runs fn(inputs) as a checkpointed segment named `name`. The output needs a gradient when
// anything fn used does (an input or a parameter), as without checkpointing. fn must compute
// the same thing when run again: it may draw random numbers and run under autocast, but must not
// depend on state that changes between forward and backward. Without grad mode, and inside a
// segment that is itself being run or recomputed, fn simply runs (nested segments are not
// checkpointed separately).
Tensor checkpoint(const SegmentFn& fn, const std::vector<Tensor>& inputs, std::string name);

}  // namespace tally
