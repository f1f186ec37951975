#include "cli/demo_workload.h"

#include <string>

#include "allocator/scope.h"

namespace tally::cli {
namespace {

constexpr std::size_t kFloat = 4;

struct Linear {
  std::size_t in;
  std::size_t out;
  Allocation weight, bias;
  Allocation weight_grad, bias_grad;
  Allocation weight_moments[2], bias_moments[2];
};

std::string layer_scope(std::size_t i) {
  return "layers." + std::to_string(i);
}

// Forward: each layer's input is saved for the weight gradient, each hidden output for ReLU's
// backward; the GEMM output is a temporary once ReLU has consumed it.
std::vector<Allocation> forward(DeviceAllocator& a, std::vector<Linear>& layers, std::size_t batch,
                                const Allocation& input) {
  PhaseGuard phase(Phase::forward);
  std::vector<Allocation> saved;
  Allocation x = input;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    MemoryScope scope(layer_scope(i));
    a.retag(x, Tag::activation);
    saved.push_back(x);
    Allocation z = a.allocate(batch * layers[i].out * kFloat, Tag::temporary);
    if (i + 1 < layers.size()) {
      Allocation relu = a.allocate(batch * layers[i].out * kFloat, Tag::temporary);
      a.deallocate(z);
      x = relu;
    } else {
      x = z;
    }
  }
  MemoryScope scope("loss");
  Allocation probs = a.allocate(batch * layers.back().out * kFloat, Tag::activation);
  a.deallocate(x);
  saved.push_back(probs);
  return saved;
}

void backward(DeviceAllocator& a, std::vector<Linear>& layers, std::size_t batch,
              std::vector<Allocation>& saved) {
  PhaseGuard phase(Phase::backward);
  Allocation grad;
  {
    MemoryScope scope("loss");
    grad = a.allocate(batch * layers.back().out * kFloat, Tag::temporary);
    a.deallocate(saved.back());
    saved.pop_back();
  }
  for (std::size_t i = layers.size(); i-- > 0;) {
    MemoryScope scope(layer_scope(i));
    Linear& l = layers[i];
    l.weight_grad = a.allocate(l.in * l.out * kFloat, Tag::gradient);
    l.bias_grad = a.allocate(l.out * kFloat, Tag::gradient);
    if (i > 0) {
      Allocation grad_input = a.allocate(batch * l.in * kFloat, Tag::temporary);
      a.deallocate(grad);
      grad = grad_input;
    }
    a.deallocate(saved.back());
    saved.pop_back();
  }
  a.deallocate(grad);
}

// AdamW: two moments per parameter, created at the first step, and one temporary per update.
void optimizer_step(DeviceAllocator& a, std::vector<Linear>& layers) {
  PhaseGuard phase(Phase::optimizer);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    MemoryScope scope(layer_scope(i));
    Linear& l = layers[i];
    for (auto [param, moments] :
         {std::pair{&l.weight, l.weight_moments}, std::pair{&l.bias, l.bias_moments}}) {
      for (int m = 0; m < 2; ++m) {
        if (!moments[m]) moments[m] = a.allocate(param->requested, Tag::optimizer);
      }
      a.deallocate(a.allocate(param->requested, Tag::temporary));
    }
  }
}

}  // namespace

void run_demo_workload(DeviceAllocator& a, const DemoShape& shape) {
  std::vector<Linear> layers;
  for (std::size_t i = 0; i + 1 < shape.widths.size(); ++i) {
    MemoryScope scope(layer_scope(i));
    Linear l{shape.widths[i], shape.widths[i + 1], {}, {}, {}, {}, {}, {}};
    l.weight = a.allocate(l.in * l.out * kFloat, Tag::parameter);
    l.bias = a.allocate(l.out * kFloat, Tag::parameter);
    layers.push_back(l);
  }
  for (int step = 0; step < shape.steps; ++step) {
    Allocation input;
    {
      MemoryScope scope("data");
      input = a.allocate(shape.batch * shape.widths.front() * kFloat, Tag::other);
    }
    std::vector<Allocation> saved = forward(a, layers, shape.batch, input);
    backward(a, layers, shape.batch, saved);
    optimizer_step(a, layers);
    // zero_grad(set_to_none=True): gradients are released until the next backward.
    for (Linear& l : layers) {
      a.deallocate(l.weight_grad);
      a.deallocate(l.bias_grad);
    }
  }
  for (Linear& l : layers) {
    for (const Allocation& block : {l.weight, l.bias, l.weight_moments[0], l.weight_moments[1],
                                    l.bias_moments[0], l.bias_moments[1]}) {
      a.deallocate(block);
    }
  }
}

}  // namespace tally::cli
