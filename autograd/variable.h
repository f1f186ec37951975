// Autograd state of a tensor, and how ops record themselves on the tape.
#pragma once

#include <initializer_list>
#include <memory>
#include <span>
#include <string_view>

#include "autograd/grad_mode.h"
#include "autograd/node.h"

namespace tally {

bool requires_grad(const Tensor& t);
// Marks a leaf tensor as needing a gradient (parameters); returns it.
Tensor& set_requires_grad(Tensor& t, bool value = true);
// The accumulated gradient of a leaf (undefined before the first backward).
Tensor grad(const Tensor& t);
void zero_grad(Tensor& t);  // drops the gradient, freeing its memory
// Replaces how backward accumulates into leaf `t` (node.h); an empty hook restores the default.
// Data parallelism uses it to write gradients into its communication buckets.
void set_grad_accumulate_hook(Tensor& t, GradAccumulateHook hook);
bool is_leaf(const Tensor& t);

// True when grad mode is on and any input requires a gradient: the op must record a node.
bool needs_grad(std::initializer_list<const Tensor*> inputs);

// A handle to `t` for a backward function to keep: detached (no reference back to the tape)
// and, when `t` is an op's temporary output, retagged as an activation.
Tensor save(const Tensor& t);

// An alias of `t` that is the start of its own tape: a backward reaching it stores the gradient
// that arrives (summed over its uses) in *slot instead of passing it on. A recomputed segment's
// inputs are sinks, so that the checkpoint node can return their gradients.
Tensor gradient_sink(const Tensor& t, std::shared_ptr<Tensor> slot);

// Records `output` as produced by `inputs` through `backward`. Call only when needs_grad().
void record(std::string_view name, Tensor& output, std::span<const Tensor* const> inputs,
            BackwardFn backward);
inline void record(std::string_view name, Tensor& output,
                   std::initializer_list<const Tensor*> inputs, BackwardFn backward) {
  record(name, output, std::span<const Tensor* const>(inputs.begin(), inputs.size()),
         std::move(backward));
}

}  // namespace tally
