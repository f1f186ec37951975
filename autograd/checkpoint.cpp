#include "autograd/checkpoint.h"

#include <memory>
#include <optional>
#include <utility>

#include "allocator/error.h"
#include "allocator/scope.h"
#include "autograd/autocast.h"
#include "autograd/engine.h"
#include "autograd/segment_frame.h"
#include "autograd/variable.h"
#include "core/generator.h"

namespace tally {
namespace {

// Makes `frame` the thread's innermost segment for the guard's lifetime.
class FrameGuard {
 public:
  explicit FrameGuard(detail::SegmentFrame& frame) : previous_(detail::segment_frame) {
    detail::segment_frame = &frame;
  }
  ~FrameGuard() { detail::segment_frame = previous_; }
  FrameGuard(const FrameGuard&) = delete;
  FrameGuard& operator=(const FrameGuard&) = delete;

 private:
  detail::SegmentFrame* previous_;
};

// Sets the default generator to `state` for the guard's lifetime, then puts back the state it
// had: a recomputation draws the forward's numbers and leaves the stream where it was.
class GeneratorReplay {
 public:
  explicit GeneratorReplay(PhiloxState state) : previous_(default_generator().state()) {
    default_generator().set_state(state);
  }
  ~GeneratorReplay() { default_generator().set_state(previous_); }
  GeneratorReplay(const GeneratorReplay&) = delete;
  GeneratorReplay& operator=(const GeneratorReplay&) = delete;

 private:
  PhiloxState previous_;
};

// What a checkpoint node keeps from its forward to recompute the segment in backward.
struct Segment {
  SegmentFn fn;
  std::string name;
  std::vector<Tensor> inputs;  // detached, tagged activation
  std::vector<bool> input_needs_grad;
  PhiloxState generator;
  std::optional<DType> autocast;
  std::vector<detail::SavedTensorMeta> saved;  // what the forward would have saved
  detail::SavedTensorMeta output;
};

std::vector<Tensor> recompute_and_backward(Segment& segment, Tensor grad) {
  std::vector<std::shared_ptr<Tensor>> slots;
  Tensor output;
  {
    PhaseGuard phase(Phase::recompute);
    GeneratorReplay replay(segment.generator);
    std::optional<AutocastGuard> autocast;
    if (segment.autocast) autocast.emplace(*segment.autocast);
    std::vector<Tensor> inputs;
    for (std::size_t i = 0; i < segment.inputs.size(); ++i) {
      slots.push_back(std::make_shared<Tensor>());
      inputs.push_back(segment.input_needs_grad[i] ? gradient_sink(segment.inputs[i], slots[i])
                                                   : segment.inputs[i]);
    }
    detail::SegmentFrame frame{detail::SegmentFrame::Mode::verify, segment.name, &segment.saved};
    FrameGuard current(frame);
    output = segment.fn(inputs);
    const std::string where = "checkpoint: segment '" + segment.name + "' recomputed differently: ";
    if (frame.next != segment.saved.size()) {
      throw UsageError(where + "its forward saved " + std::to_string(segment.saved.size()) +
                       " tensor(s), the recomputation " + std::to_string(frame.next));
    }
    const detail::SavedTensorMeta now = detail::saved_meta(output);
    if (now.shape != segment.output.shape || now.dtype != segment.output.dtype ||
        !requires_grad(output)) {
      throw UsageError(where + "its output was " + detail::describe(segment.output) +
                       " needing a gradient, is " + detail::describe(now) +
                       (requires_grad(output) ? "" : " needing none"));
    }
  }
  // The inputs are no longer needed once the tape holds what it saved of them.
  segment.inputs.clear();
  backward(output, std::move(grad));
  output = Tensor();
  std::vector<Tensor> grads;
  for (auto& slot : slots) grads.push_back(std::move(*slot));
  return grads;
}

}  // namespace

Tensor checkpoint(const SegmentFn& fn, const std::vector<Tensor>& inputs, std::string name) {
  if (!grad_enabled() || detail::segment_frame) return fn(inputs);
  auto segment = std::make_shared<Segment>();
  segment->fn = fn;
  segment->name = std::move(name);
  segment->generator = default_generator().state();
  segment->autocast = autocast_dtype();
  Tensor output;
  {
    detail::SegmentFrame frame{detail::SegmentFrame::Mode::discard, segment->name, &segment->saved};
    FrameGuard current(frame);
    output = fn(inputs);
  }
  if (!requires_grad(output)) return output;
  segment->output = detail::saved_meta(output);
  std::vector<const Tensor*> edges;
  for (const Tensor& input : inputs) {
    segment->inputs.push_back(save(input));
    segment->input_needs_grad.push_back(requires_grad(input));
    edges.push_back(&input);
  }
  // A fresh handle: fn may return one of its inputs, whose own tape must stay as it is.
  Tensor result = output.detach();
  output = Tensor();
  record("checkpoint", result, edges,
         [segment](Tensor grad) { return recompute_and_backward(*segment, std::move(grad)); });
  return result;
}

}  // namespace tally
