#include "autograd/engine.h"

#include <queue>
#include <unordered_map>
#include <utility>

#include "allocator/error.h"
#include "autograd/variable.h"
#include "ops/elementwise.h"

namespace tally {
namespace {

struct LaterFirst {
  bool operator()(const Node* a, const Node* b) const { return a->sequence < b->sequence; }
};

}  // namespace

void backward(const Tensor& root, Tensor seed) {
  if (!requires_grad(root)) throw UsageError("backward: the tensor does not require a gradient");
  if (!seed.defined()) {
    if (root.numel() != 1)
      throw UsageError("backward: a gradient is needed for non-scalar " + root.describe());
    seed = Tensor::empty(root.shape(), root.dtype(), root.device());
    ops::fill_(seed, 1.0f);
  } else if (seed.shape() != root.shape()) {
    throw UsageError("backward: gradient " + seed.describe() + " does not match " +
                     root.describe());
  }
  // The root's own node; a leaf root gets its accumulator through a one-input identity.
  std::shared_ptr<Node> start = root.autograd_meta()->grad_fn;
  if (!start) {
    Tensor alias = root.detach();
    record("identity", alias, {&root}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
    start = alias.autograd_meta()->grad_fn;
  }

  // Count, for every node reachable from the root, how many edges lead into it.
  std::unordered_map<Node*, int> pending;
  std::vector<Node*> stack{start.get()};
  pending[start.get()] = 0;
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const auto& next : node->inputs) {
      if (!next) continue;
      if (pending[next.get()]++ == 0) stack.push_back(next.get());
    }
  }

  std::unordered_map<Node*, Tensor> buffers;
  buffers[start.get()] = std::move(seed);
  std::priority_queue<Node*, std::vector<Node*>, LaterFirst> ready;
  ready.push(start.get());
  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    Tensor incoming;
    if (auto it = buffers.find(node); it != buffers.end()) {
      incoming = std::move(it->second);
      buffers.erase(it);
    }
    std::vector<Tensor> grads;
    if (incoming.defined()) {
      if (!node->backward) {
        throw UsageError("backward: the tape through " + node->name +
                         " was already released by an earlier backward");
      }
      ScopeRestore scope(node->scope);
      grads = node->backward(std::move(incoming));
    }
    if (!node->reusable) node->backward = nullptr;  // frees what the node saved
    for (std::size_t i = 0; i < node->inputs.size(); ++i) {
      Node* next = node->inputs[i].get();
      if (!next) continue;
      if (i < grads.size() && grads[i].defined()) {
        Tensor& buffer = buffers[next];
        if (!buffer.defined()) {
          buffer = std::move(grads[i]);
        } else if (buffer.storage().use_count() == 1 && buffer.is_contiguous()) {
          ops::axpby_(buffer, 1.0f, grads[i], 1.0f);
        } else {
          buffer = ops::add(buffer, grads[i]);
        }
        grads[i] = Tensor();
      }
      if (--pending[next] == 0) ready.push(next);
    }
  }
}

}  // namespace tally
