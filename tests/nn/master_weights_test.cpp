// The fp16 and bf16 arrangements' master weights: Module::convert_parameters (16-bit copies in
// the modules' scopes, the f32 originals handed over as masters without a new f32 byte), an
// optimizer stepping through its masters (against the fp32 step from the same start, and per tag
// against bytes worked out by hand) and GradScaler with such an optimizer (gradients checked but
// left scaled, a skipped step leaving 16-bit parameters, masters and state bit-identical); and
// sim:cpu requesting what cpu does, event for event.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "allocator/error.h"
#include "allocator/scope.h"
#include "autograd/engine.h"
#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "autograd/variable.h"
#include "core/device_registry.h"
#include "core/generator.h"
#include "nn/grad_scaler.h"
#include "nn/layers.h"
#include "nn/optimizer.h"
#include "ops/factory.h"
#include "step_trace.h"

namespace tally::nn {
namespace {

// Two Linear layers, each built in the scope named by its key, as the zoo builds its models.
std::shared_ptr<Sequential> two_layers(std::int64_t in, std::int64_t hidden, std::int64_t out) {
  auto model = std::make_shared<Sequential>();
  {
    MemoryScope scope("fc0");
    model->add("fc0", std::make_shared<Linear>(in, hidden));
  }
  model->add("act", std::make_shared<ReLU>());
  {
    MemoryScope scope("fc1");
    model->add("fc1", std::make_shared<Linear>(hidden, out));
  }
  return model;
}

std::vector<std::uint32_t> bits(const Tensor& t) {
  std::vector<std::uint32_t> out;
  for (const float v : t.to_floats()) out.push_back(std::bit_cast<std::uint32_t>(v));
  return out;
}

void expect_refused(const std::function<void()>& f, const std::string& message) {
  try {
    f();
    ADD_FAILURE() << "accepted; expected: " << message;
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), message);
  }
}

TEST(ConvertParameters, ReplacesEachParameterByASixteenBitCopyAndHandsOverTheOriginals) {
  AllocatorConfig config;
  config.record = true;
  const auto allocator = configure_device(Device::cpu(), config);
  manual_seed(1);
  const auto model = two_layers(3, 5, 2);
  const NamedParameters originals = model->named_parameters();
  const std::int64_t f32_allocated = allocator->stats().total.allocated_bytes.current;
  const std::size_t events_before = allocator->trace().events.size();

  const NamedParameters masters = model->convert_parameters(DType::f16);
  const Trace trace = allocator->trace();
  const AllocatorStats stats = allocator->stats();

  const NamedParameters converted = model->named_parameters();
  ASSERT_EQ(masters.size(), originals.size());
  ASSERT_EQ(converted.size(), originals.size());
  for (std::size_t i = 0; i < originals.size(); ++i) {
    const auto& [name, original] = originals[i];
    SCOPED_TRACE(name);
    // The master is the original's very block, retagged, with no autograd state.
    EXPECT_EQ(masters[i].first, name);
    EXPECT_EQ(masters[i].second.storage(), original.storage());
    EXPECT_EQ(masters[i].second.tag(), Tag::optimizer);
    EXPECT_FALSE(requires_grad(masters[i].second));
    // The parameter is a new f16 tensor holding the original rounded to nearest.
    const Tensor& half = converted[i].second;
    EXPECT_EQ(converted[i].first, name);
    EXPECT_EQ(half.dtype(), DType::f16);
    EXPECT_EQ(half.tag(), Tag::parameter);
    EXPECT_TRUE(requires_grad(half));
    EXPECT_EQ(half.to_floats(),
              Tensor::from_values(original.to_floats(), original.shape(), DType::f16).to_floats());
  }
  // The conversion allocated the four 16-bit copies alone (no f32 byte), each in its module's
  // scope: fc0.weight [5, 3], fc0.bias [5], fc1.weight [2, 5], fc1.bias [2].
  std::vector<std::pair<std::string, std::int64_t>> allocations;
  for (std::size_t e = events_before; e < trace.events.size(); ++e) {
    const Event& event = trace.events[e];
    if (event.action != Action::alloc) continue;
    EXPECT_EQ(event.tag, Tag::parameter);
    allocations.emplace_back(scope_name(event.scope), event.requested);
  }
  const std::vector<std::pair<std::string, std::int64_t>> expected = {
      {"fc0", 30}, {"fc0", 10}, {"fc1", 20}, {"fc1", 4}};
  EXPECT_EQ(allocations, expected);
  // The peak is f32 + 16-bit, as Apex's: four 512-byte blocks more than the f32 model's.
  EXPECT_EQ(stats.total.allocated_bytes.peak, f32_allocated + 4 * 512);
  EXPECT_EQ(stats.of(Tag::optimizer).allocated_bytes.current, f32_allocated);

  // The layers read the module's slots, so they now compute in f16.
  const Tensor y =
      model->forward(Tensor::from_values(std::vector<float>{1, 2, 3}, {1, 3}, DType::f16));
  EXPECT_EQ(y.dtype(), DType::f16);

  expect_refused([&] { model->convert_parameters(DType::bf16); },
                 "convert_parameters: parameter 'fc0.weight' is f16[5, 3] on cpu, not f32");
  expect_refused([&] { two_layers(3, 5, 2)->convert_parameters(DType::f32); },
                 "convert_parameters: expected f16 or bf16, got f32");
}

TEST(MasterWeights, MastersMustMatchTheParameters) {
  manual_seed(1);
  const auto model = two_layers(3, 5, 2);
  const NamedParameters masters = model->convert_parameters(DType::bf16);
  const NamedParameters params = model->named_parameters();
  const auto refused = [&](NamedParameters bad, const std::string& message) {
    expect_refused([&] { SGD(params, ops::SgdOptions{}, bad); }, message);
  };
  refused({masters.begin(), masters.begin() + 3}, "optimizer: 3 master weights for 4 parameters");
  NamedParameters renamed = masters;
  renamed[1].first = "fc0.other";
  refused(renamed, "optimizer: master 'fc0.other' given for parameter 'fc0.bias'");
  NamedParameters reshaped = masters;
  reshaped[0].second = masters[0].second.view({15});
  refused(reshaped,
          "optimizer: master f32[15] on cpu of 'fc0.weight' is not a contiguous f32 copy of "
          "bf16[5, 3] on cpu");
  NamedParameters sixteen = masters;
  sixteen[3].second = params[3].second;
  refused(sixteen,
          "optimizer: master bf16[2] on cpu of 'fc1.bias' is not a contiguous f32 copy of bf16[2] "
          "on cpu");
}

// A step of SGD through f32 masters against the fp32 step from the same start, f16 with a
// GradScaler (scale 1024) and bf16 without.
//
// Tolerance: the masters are the fp32 model's very starting values, so after one step
// master - p32 = -lr (g16 - g32): only the gradients differ. g16 comes from a forward and
// backward in which every stored tensor (input, weights, hidden activation, logits and each
// gradient) is rounded to 16 bits, relative error at most u = 2^-11 (f16) or 2^-8 (bf16), with f32
// accumulation inside each op. About 8 such roundings lie on the longest path to a gradient
// element (x, w0, h, w1, logits, dlogits, dh, dw0), each moving it by at most u relative to the
// terms summed; we allow twice that for cancellation between terms, against the largest gradient
// of the tensor: |master - p32| <= lr * 16u * max|g32|. The 16-bit parameter is the master rounded
// once more: |p16 - p32| <= that + u |p32|. An element left unstepped would be off by lr * |g32|,
// beyond the bound at the tensor's largest gradient; an unapplied or doubly applied scale would
// be off by about 1023 or 1/2 of a step.
TEST(MasterWeights, AStepMatchesTheFp32StepFromTheSameStart) {
  for (const DType dtype : {DType::f16, DType::bf16}) {
    SCOPED_TRACE(dtype_name(dtype));
    const double u = dtype == DType::f16 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8);
    ops::SgdOptions sgd;
    sgd.lr = 0.5f;
    manual_seed(7);
    const Tensor x = ops::randn({5, 6});
    const Tensor labels = Tensor::from_values(std::vector<float>{0, 2, 1, 1, 0}, {5}, DType::i64);

    manual_seed(3);
    const auto reference = two_layers(6, 8, 3);
    const NamedParameters start = reference->named_parameters();
    SGD reference_sgd(start, sgd);
    backward(cross_entropy(reference->forward(x), labels));
    std::vector<double> largest_gradient;
    for (const auto& [name, p] : start) {
      double largest = 0;
      for (const float g : grad(p).to_floats()) largest = std::max(largest, double(std::abs(g)));
      largest_gradient.push_back(largest);
    }
    reference_sgd.step();

    manual_seed(3);
    const auto model = two_layers(6, 8, 3);
    const NamedParameters masters = model->convert_parameters(dtype);
    SGD optimizer(model->named_parameters(), sgd, masters);
    const Tensor loss = cross_entropy(cast(model->forward(cast(x, dtype)), DType::f32), labels);
    if (dtype == DType::f16) {
      GradScalerOptions options;
      options.init_scale = 1024.0f;
      GradScaler scaler(options);
      backward(scaler.scale(loss));
      EXPECT_TRUE(scaler.step(optimizer));
      scaler.update();
    } else {
      backward(loss);
      optimizer.step();
    }

    const NamedParameters params = model->named_parameters();
    for (std::size_t i = 0; i < start.size(); ++i) {
      SCOPED_TRACE(start[i].first);
      const double bound = sgd.lr * 16 * u * largest_gradient[i];
      const std::vector<float> want = start[i].second.to_floats();
      const std::vector<float> master = masters[i].second.to_floats();
      const std::vector<float> half = params[i].second.to_floats();
      for (std::size_t k = 0; k < want.size(); ++k) {
        EXPECT_NEAR(master[k], want[k], bound) << "master element " << k;
        EXPECT_NEAR(half[k], want[k], bound + u * std::abs(want[k])) << "element " << k;
      }
      // The parameter is exactly its master rounded to 16 bits.
      EXPECT_EQ(half, cast(masters[i].second, dtype).to_floats());
    }
  }
}

// After one step of a Linear(100, 30) model (3030 parameters: weight 3000, bias 30), per tag, in
// requested bytes against the textbook and in allocated bytes, each block rounded up to 512:
//   parameter  2 B/param: 6000 + 60      -> 6144 + 512
//   gradient   2 B/param, the same
//   optimizer  4 B/param of master (12000 + 120 -> 12288 + 512), and as much again per f32 state
//              tensor: none for sgd, the momentum buffer for sgd with momentum, two for adamw.
TEST(MasterWeights, BytesPerTagAfterOneStepMatchTheHandComputedFigures) {
  const std::int64_t master_requested = 4 * 3030, master_allocated = 12288 + 512;
  struct Case {
    std::string name;
    int state_tensors;
    std::function<std::unique_ptr<Optimizer>(NamedParameters, NamedParameters)> make;
  };
  ops::SgdOptions momentum;
  momentum.momentum = 0.9f;
  const std::vector<Case> cases = {
      {"sgd", 0,
       [](NamedParameters p, NamedParameters m) {
         return std::make_unique<SGD>(p, ops::SgdOptions{}, m);
       }},
      {"sgd_momentum", 1,
       [&](NamedParameters p, NamedParameters m) { return std::make_unique<SGD>(p, momentum, m); }},
      {"adamw", 2,
       [](NamedParameters p, NamedParameters m) {
         return std::make_unique<AdamW>(p, ops::AdamWOptions{}, m);
       }},
  };
  for (const DType dtype : {DType::f16, DType::bf16}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(c.name + " " + std::string(dtype_name(dtype)));
      const auto allocator = configure_device(Device::cpu(), {});
      manual_seed(5);
      Sequential model;
      model.add("fc", std::make_shared<Linear>(100, 30));
      const NamedParameters masters = model.convert_parameters(dtype);
      const std::unique_ptr<Optimizer> optimizer = c.make(model.named_parameters(), masters);
      const Tensor x = cast(ops::randn({4, 100}), dtype);
      backward(sum(cast(model.forward(x), DType::f32)));
      optimizer->step();

      const AllocatorStats s = allocator->stats();
      EXPECT_EQ(s.of(Tag::parameter).requested_bytes.current, 2 * 3030);
      EXPECT_EQ(s.of(Tag::parameter).allocated_bytes.current, 6144 + 512);
      EXPECT_EQ(s.of(Tag::gradient).requested_bytes.current, 2 * 3030);
      EXPECT_EQ(s.of(Tag::gradient).allocated_bytes.current, 6144 + 512);
      EXPECT_EQ(s.of(Tag::optimizer).requested_bytes.current,
                master_requested * (1 + c.state_tensors));
      EXPECT_EQ(s.of(Tag::optimizer).allocated_bytes.current,
                master_allocated * (1 + c.state_tensors));
    }
  }
}

constexpr float kInf = std::numeric_limits<float>::infinity();

// A Linear(4, 2) model in f16 with f32 masters, trained through a GradScaler of scale 1024 on
// loss = sum(y^2); an input holding inf makes every weight gradient inf or NaN.
struct MasterRun {
  std::shared_ptr<Sequential> model = std::make_shared<Sequential>();
  NamedParameters masters;
  std::unique_ptr<Optimizer> optimizer;
  GradScaler scaler{GradScalerOptions{1024.0f}};

  explicit MasterRun(bool adamw, Device device = Device::cpu()) {
    manual_seed(11);
    model->add("fc", std::make_shared<Linear>(4, 2, true, device));
    masters = model->convert_parameters(DType::f16);
    if (adamw) {
      optimizer = std::make_unique<AdamW>(model->named_parameters(), ops::AdamWOptions{}, masters);
    } else {
      ops::SgdOptions sgd;
      sgd.lr = 0.1f;
      sgd.momentum = 0.9f;
      optimizer = std::make_unique<SGD>(model->named_parameters(), sgd, masters);
    }
  }

  bool step(std::vector<float> input) {
    optimizer->zero_grad();
    const Device device = optimizer->device();
    // sim holds no values: the input is only its block there.
    const Tensor x = device.kind == DeviceKind::sim
                         ? Tensor::empty({2, 4}, DType::f16, device, Tag::other)
                         : Tensor::from_values(input, {2, 4}, DType::f16);
    const Tensor y = cast(model->forward(x), DType::f32);
    backward(scaler.scale(sum(mul(y, y))));
    const bool stepped = scaler.step(*optimizer);
    scaler.update();
    return stepped;
  }

  // Every bit of the 16-bit parameters and of the masters.
  std::vector<std::uint32_t> state() const {
    std::vector<std::uint32_t> out;
    for (const auto& [name, p] : model->named_parameters()) {
      for (const std::uint32_t b : bits(p)) out.push_back(b);
    }
    for (const auto& [name, m] : masters) {
      for (const std::uint32_t b : bits(m)) out.push_back(b);
    }
    return out;
  }
};

const std::vector<float> kGood = {0.5f, -0.25f, 1.0f, 0.75f, -1.0f, 0.5f, 0.25f, -0.5f};
const std::vector<float> kBad = {0.5f, -0.25f, kInf, 0.75f, -1.0f, 0.5f, 0.25f, -0.5f};

// The run with a skipped step ends bit for bit where the run without it does, so the momentum,
// AdamW's moments and its step count were left alone too.
TEST(MasterWeights, ASkippedStepLeavesParametersMastersAndStateBitIdentical) {
  for (const bool adamw : {false, true}) {
    SCOPED_TRACE(adamw ? "adamw" : "sgd");
    MasterRun with_skip(adamw), without(adamw);
    EXPECT_TRUE(with_skip.step(kGood));
    without.step(kGood);
    const std::vector<std::uint32_t> before = with_skip.state();
    EXPECT_FALSE(with_skip.step(kBad));
    EXPECT_EQ(with_skip.state(), before);
    EXPECT_EQ(with_skip.optimizer->grad_scale(), 1.0f);
    EXPECT_EQ(with_skip.scaler.get_scale(), 512.0f);
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(with_skip.step(kGood));
      EXPECT_TRUE(without.step(kGood));
    }
    EXPECT_NE(with_skip.state(), before);
    // The scales differ (512 against 1024), and dividing by either is exact: the same values.
    EXPECT_EQ(with_skip.state(), without.state());
  }
}

// PyTorch will not unscale f16 gradients in place; with masters unscale_ only checks them and
// the optimizer divides them by the scale as its next step reads them.
TEST(MasterWeights, UnscaleLeavesSixteenBitGradientsScaledForTheOptimizer) {
  MasterRun run(false);
  const Tensor x = Tensor::from_values(kGood, {2, 4}, DType::f16);
  const Tensor y = cast(run.model->forward(x), DType::f32);
  backward(run.scaler.scale(sum(mul(y, y))));
  const std::vector<Tensor> grads = run.optimizer->gradients();
  std::vector<std::vector<std::uint32_t>> before;
  for (const Tensor& g : grads) before.push_back(bits(g));
  run.scaler.unscale_(*run.optimizer);
  for (std::size_t i = 0; i < grads.size(); ++i) EXPECT_EQ(bits(grads[i]), before[i]);
  EXPECT_EQ(run.optimizer->grad_scale(), 1.0f / 1024.0f);
  EXPECT_TRUE(run.scaler.step(*run.optimizer));
  EXPECT_EQ(run.optimizer->grad_scale(), 1.0f);
}

// sim's promise holds with master weights: the conversion and two scaled steps on sim:cpu request
// what they request on cpu, event for event (retags included).
TEST(MasterWeights, SimCpuTraceEqualsTheCpuTraceEventForEvent) {
  const Device sim = Device::parse("sim:cpu");
  for (const bool adamw : {false, true}) {
    SCOPED_TRACE(adamw ? "adamw" : "sgd");
    AllocatorConfig config;
    config.record = true;
    const auto cpu_allocator = configure_device(Device::cpu(), config);
    const auto sim_allocator = configure_device(sim, config);
    for (const Device device : {Device::cpu(), sim}) {
      MasterRun run(adamw, device);
      run.step(kGood);
      run.step(kGood);
    }
    const auto on_cpu = test::step_events(cpu_allocator->trace());
    const auto on_sim = test::step_events(sim_allocator->trace());
    ASSERT_GT(on_cpu.size(), 50u);
    ASSERT_EQ(on_sim.size(), on_cpu.size());
    for (std::size_t i = 0; i < on_cpu.size(); ++i)
      ASSERT_EQ(on_sim[i], on_cpu[i]) << "event " << i;
  }
  configure_device(Device::cpu(), {});
  configure_device(sim, {});
}

}  // namespace
}  // namespace tally::nn
