// The tape: one Node per differentiable op that ran with grad enabled, linked to the nodes that
// produced its inputs. A Node's backward function holds the tensors it saved; releasing the
// node frees them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "allocator/scope.h"
#include "core/tensor.h"

namespace tally {

struct Node;

// Given the gradient of a node's output, the gradients of its inputs (undefined where an input
// needs none). The gradient is handed over, so a function that runs a backward of its own (a
// checkpointed segment) can free it as early as the engine would.
using BackwardFn = std::function<std::vector<Tensor>(Tensor grad)>;

struct Node {
  std::string name;
  std::uint64_t sequence = 0;                 // creation order; later nodes run first
  ScopeId scope = 0;                          // where the forward ran; backward runs there too
  std::vector<std::shared_ptr<Node>> inputs;  // per input: its node, or null if it needs no grad
  BackwardFn backward;                        // empty once run (saved tensors released)
  bool reusable = false;                      // a leaf's accumulator runs in every backward
};

// How backward hands a leaf its gradient, in place of storing the first and adding the rest:
// called once per backward that reaches the leaf, with the leaf's gradient slot and the gradient
// summed over the leaf's uses.
using GradAccumulateHook = std::function<void(Tensor& grad, const Tensor& incoming)>;

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;
  GradAccumulateHook accumulate_hook;      // empty: the default accumulation
  std::shared_ptr<Node> grad_fn;           // the op that produced this tensor; null for leaves
  std::shared_ptr<Node> grad_accumulator;  // a leaf's node that accumulates into `grad`
};

}  // namespace tally
