#include "autograd/variable.h"

#include <atomic>
#include <limits>

#include "allocator/error.h"
#include "autograd/segment_frame.h"
#include "ops/elementwise.h"

namespace tally {
namespace {

std::atomic<std::uint64_t> next_sequence{1};
// Accumulators run as soon as they are ready (before any op node), in creation order.
std::atomic<std::uint64_t> next_accumulator{std::numeric_limits<std::uint64_t>::max() / 2};

AutogradMeta& meta_of(Tensor& t) {
  if (!t.autograd_meta()) t.set_autograd_meta(std::make_shared<AutogradMeta>());
  return *t.autograd_meta();
}

// A gradient the leaf can own: dense, alone in its storage, tagged gradient.
Tensor owned_gradient(const Tensor& g) {
  const bool alone =
      g.storage().use_count() == 1 && g.offset() == 0 && g.is_contiguous() &&
      g.storage()->nbytes() == static_cast<std::size_t>(g.numel()) * dtype_size(g.dtype());
  Tensor owned = g.detach();
  if (!alone) {
    owned = Tensor::empty(g.shape(), g.dtype(), g.device(), Tag::gradient);
    copy_into(owned, g);
  }
  owned.storage()->retag(Tag::gradient);
  return owned;
}

std::shared_ptr<Node> accumulator_of(Tensor& leaf) {
  AutogradMeta& meta = meta_of(leaf);
  if (!meta.grad_accumulator) {
    auto node = std::make_shared<Node>();
    node->name = "accumulate_grad";
    node->sequence = next_accumulator++;
    node->reusable = true;
    node->scope = current_scope();
    std::weak_ptr<AutogradMeta> weak = leaf.autograd_meta();
    node->backward = [weak](const Tensor& g) -> std::vector<Tensor> {
      if (auto target = weak.lock()) {
        if (target->accumulate_hook) {
          target->accumulate_hook(target->grad, g);
        } else if (!target->grad.defined()) {
          target->grad = owned_gradient(g);
        } else {
          ops::axpby_(target->grad, 1.0f, g, 1.0f);
        }
      }
      return {};
    };
    meta.grad_accumulator = node;
  }
  return meta.grad_accumulator;
}

// A recomputed segment must save what its forward would have saved, in the same order.
void check_recomputed(detail::SegmentFrame& frame, const Tensor& t) {
  const std::vector<detail::SavedTensorMeta>& log = *frame.saved;
  const detail::SavedTensorMeta now = detail::saved_meta(t);
  const std::string where = "checkpoint: segment '" + frame.segment + "' recomputed differently: ";
  if (frame.next >= log.size()) {
    throw UsageError(where + "its forward saved " + std::to_string(log.size()) +
                     " tensor(s), the recomputation saves more (" + detail::describe(now) + ")");
  }
  const detail::SavedTensorMeta& then = log[frame.next];
  if (now.defined != then.defined || now.shape != then.shape || now.dtype != then.dtype) {
    throw UsageError(where + "saved tensor " + std::to_string(frame.next) + " was " +
                     detail::describe(then) + " in forward, is " + detail::describe(now));
  }
  ++frame.next;
}

}  // namespace

namespace detail {

SavedTensorMeta saved_meta(const Tensor& t) {
  if (!t.defined()) return {};
  return {true, t.shape(), t.dtype()};
}

std::string describe(const SavedTensorMeta& meta) {
  if (!meta.defined) return "none";
  std::string out = std::string(dtype_name(meta.dtype)) + "[";
  for (std::size_t i = 0; i < meta.shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(meta.shape[i]);
  }
  return out + "]";
}

}  // namespace detail

bool requires_grad(const Tensor& t) {
  return t.autograd_meta() && t.autograd_meta()->requires_grad;
}

Tensor& set_requires_grad(Tensor& t, bool value) {
  if (t.autograd_meta() && t.autograd_meta()->grad_fn) {
    throw UsageError("set_requires_grad: only leaf tensors can be marked, not the output of " +
                     t.autograd_meta()->grad_fn->name);
  }
  meta_of(t).requires_grad = value;
  return t;
}

Tensor grad(const Tensor& t) {
  return t.autograd_meta() ? t.autograd_meta()->grad : Tensor();
}

void zero_grad(Tensor& t) {
  if (t.autograd_meta()) t.autograd_meta()->grad = Tensor();
}

void set_grad_accumulate_hook(Tensor& t, GradAccumulateHook hook) {
  if (!is_leaf(t)) throw UsageError("set_grad_accumulate_hook: only leaf tensors accumulate");
  meta_of(t).accumulate_hook = std::move(hook);
}

bool is_leaf(const Tensor& t) {
  return !t.autograd_meta() || !t.autograd_meta()->grad_fn;
}

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor* t : inputs) {
    if (t->defined() && requires_grad(*t)) return true;
  }
  return false;
}

Tensor save(const Tensor& t) {
  if (detail::SegmentFrame* frame = detail::segment_frame) {
    if (frame->mode == detail::SegmentFrame::Mode::discard) {
      frame->saved->push_back(detail::saved_meta(t));
      return Tensor();
    }
    check_recomputed(*frame, t);
  }
  if (t.defined() && t.tag() == Tag::temporary) t.storage()->retag(Tag::activation);
  return t.detach();
}

void record(std::string_view name, Tensor& output, std::span<const Tensor* const> inputs,
            BackwardFn backward) {
  if (detail::segment_frame && detail::segment_frame->mode == detail::SegmentFrame::Mode::discard) {
    meta_of(output).requires_grad = true;
    return;
  }
  auto node = std::make_shared<Node>();
  node->name = name;
  node->sequence = next_sequence++;
  node->scope = current_scope();
  node->backward = std::move(backward);
  for (const Tensor* input : inputs) {
    std::shared_ptr<Node> edge;
    if (input->defined() && requires_grad(*input)) {
      const auto& meta = input->autograd_meta();
      edge = meta->grad_fn ? meta->grad_fn : accumulator_of(const_cast<Tensor&>(*input));
    }
    node->inputs.push_back(std::move(edge));
  }
  AutogradMeta& meta = meta_of(output);
  meta.requires_grad = true;
  meta.grad_fn = std::move(node);
}

Tensor gradient_sink(const Tensor& t, std::shared_ptr<Tensor> slot) {
  Tensor out = t.detach();
  auto node = std::make_shared<Node>();
  node->name = "gradient_sink";
  node->sequence = next_sequence++;
  node->scope = current_scope();
  node->backward = [slot = std::move(slot)](Tensor g) {
    *slot = std::move(g);
    return std::vector<Tensor>{};
  };
  AutogradMeta& meta = meta_of(out);
  meta.requires_grad = true;
  meta.grad_fn = std::move(node);
  return out;
}

}  // namespace tally
