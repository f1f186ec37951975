// nn::SGD and nn::AdamW (over ops::sgd_update_ and adamw_update_) against float64 references
// written here from PyTorch's documented algorithms (torch.optim.SGD and torch.optim.AdamW), for
// several steps whose gradients change every step; and their state, allocated at the first step
// under the optimizer tag in each parameter's module scope.
//
// Tolerance: the kernels compute in f32, rounding (unit roundoff 2^-24, about 6e-8) a handful of
// times per element and step, so after step t an element is within about 16 * 6e-8 * t of the
// float64 result, relative to its magnitude (at least 1): 1e-6 * t. Each case names the terms it
// is about, and checks that the reference without each of them (dampening ignored, weight decay
// ignored, ...) ends at least 100 times the tolerance away: a kernel that dropped the term would
// fail.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "allocator/device_allocator.h"
#include "allocator/error.h"
#include "allocator/scope.h"
#include "autograd/engine.h"
#include "autograd/functions.h"
#include "autograd/variable.h"
#include "core/device_registry.h"
#include "nn/optimizer.h"

namespace tally::nn {
namespace {

constexpr int kSteps = 6;
const std::vector<float> kStart = {0.5f, -1.25f, 2.0f, -0.75f, 0.1f, 1.5f};
// Per element, so that some gradients are far smaller than others (AdamW's eps then matters).
const std::vector<double> kGradScale = {1.0, 0.5, 2.0, 1e-3, 0.01, 1.0};

// Step t's gradient (t from 1): its sign and size change every step.
std::vector<float> gradient(int t) {
  std::vector<float> g;
  for (std::size_t i = 0; i < kStart.size(); ++i) {
    g.push_back(static_cast<float>(kGradScale[i] * std::sin(0.9 * t + 1.7 * double(i))));
  }
  return g;
}

using Values = std::vector<double>;

// torch.optim.SGD as documented: g += weight_decay * p; with momentum, b = g at the first step
// and b = momentum * b + (1 - dampening) * g after it; the step is g + momentum * b with nesterov,
// b without; p -= lr * step.
struct SgdReference {
  ops::SgdOptions o;
  bool first_buffer_is_grad = true;  // false only to show that the test would notice
  Values buffer;

  void step(Values& p, const Values& grad) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      double g = grad[i] + double(o.weight_decay) * p[i];
      if (o.momentum != 0.0f) {
        if (buffer.size() < p.size()) {
          buffer.push_back(first_buffer_is_grad ? g : (1.0 - double(o.dampening)) * g);
        } else {
          buffer[i] = double(o.momentum) * buffer[i] + (1.0 - double(o.dampening)) * g;
        }
        g = o.nesterov ? g + double(o.momentum) * buffer[i] : buffer[i];
      }
      p[i] -= double(o.lr) * g;
    }
  }
};

// torch.optim.AdamW as documented: p -= lr * weight_decay * p; m = beta1 m + (1 - beta1) g;
// v = beta2 v + (1 - beta2) g^2; m^ = m / (1 - beta1^t); v^ = v / (1 - beta2^t);
// p -= lr * m^ / (sqrt(v^) + eps).
struct AdamWReference {
  ops::AdamWOptions o;
  bool bias_correction = true;  // false only to show that the test would notice
  Values m, v;
  int t = 0;

  void step(Values& p, const Values& g) {
    m.resize(p.size());
    v.resize(p.size());
    ++t;
    const double beta1 = o.beta1, beta2 = o.beta2;
    for (std::size_t i = 0; i < p.size(); ++i) {
      p[i] -= double(o.lr) * double(o.weight_decay) * p[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      const double m_hat = bias_correction ? m[i] / (1 - std::pow(beta1, t)) : m[i];
      const double v_hat = bias_correction ? v[i] / (1 - std::pow(beta2, t)) : v[i];
      p[i] -= double(o.lr) * m_hat / (std::sqrt(v_hat) + double(o.eps));
    }
  }
};

double tolerance(int t, double value) {
  return 1e-6 * t * std::max(1.0, std::abs(value));
}

// The parameter after each of kSteps steps of `reference`, in float64.
template <typename Reference>
std::vector<Values> reference_run(Reference reference) {
  Values p(kStart.begin(), kStart.end());
  std::vector<Values> after;
  for (int t = 1; t <= kSteps; ++t) {
    const std::vector<float> g = gradient(t);
    reference.step(p, Values(g.begin(), g.end()));
    after.push_back(p);
  }
  return after;
}

// The parameter after each of kSteps steps of the optimizer `make` builds, each gradient put in
// place by a backward pass (d/dp sum(p * g) = g, exactly).
std::vector<Values> tally_run(const std::function<std::unique_ptr<Optimizer>(Tensor)>& make) {
  Tensor p = Tensor::from_values(kStart, {2, 3}, DType::f32, Tag::parameter);
  set_requires_grad(p);
  const std::unique_ptr<Optimizer> optimizer = make(p);
  std::vector<Values> after;
  for (int t = 1; t <= kSteps; ++t) {
    optimizer->zero_grad();
    backward(sum(mul(p, Tensor::from_values(gradient(t), {2, 3}))));
    optimizer->step();
    const std::vector<float> now = p.to_floats();
    after.emplace_back(now.begin(), now.end());
  }
  return after;
}

// The largest difference between two runs, in tolerances.
double distance(const std::vector<Values>& got, const std::vector<Values>& want) {
  double worst = 0;
  for (int t = 1; t <= kSteps; ++t) {
    for (std::size_t i = 0; i < kStart.size(); ++i) {
      const double d = std::abs(got[t - 1][i] - want[t - 1][i]);
      worst = std::max(worst, d / tolerance(t, want[t - 1][i]));
    }
  }
  return worst;
}

void expect_within_tolerance(const std::vector<Values>& got, const std::vector<Values>& want) {
  for (int t = 1; t <= kSteps; ++t) {
    for (std::size_t i = 0; i < kStart.size(); ++i) {
      EXPECT_NEAR(got[t - 1][i], want[t - 1][i], tolerance(t, want[t - 1][i]))
          << "step " << t << ", element " << i;
    }
  }
}

template <typename Reference>
struct Case {
  std::string name;
  Reference reference;
  // The same reference with one term left out, each by name: each must end far from the case.
  std::vector<std::pair<std::string, Reference>> without;
};

template <typename Reference>
void PrintTo(const Case<Reference>& c, std::ostream* out) {
  *out << c.name;
}

template <typename Reference>
void expect_each_term_matters(const Case<Reference>& c, const std::vector<Values>& want) {
  for (const auto& [term, reference] : c.without) {
    EXPECT_GT(distance(reference_run(reference), want), 100.0)
        << "leaving out " << term << " changes too little for the test to notice";
  }
}

using SgdCase = Case<SgdReference>;

SgdReference sgd(float lr, float momentum, float dampening, float weight_decay, bool nesterov) {
  SgdReference r;
  r.o.lr = lr;
  r.o.momentum = momentum;
  r.o.dampening = dampening;
  r.o.weight_decay = weight_decay;
  r.o.nesterov = nesterov;
  return r;
}

SgdReference with_first_buffer_dampened(SgdReference r) {
  r.first_buffer_is_grad = false;
  return r;
}

class SgdAgainstReference : public ::testing::TestWithParam<SgdCase> {};

TEST_P(SgdAgainstReference, EveryStepMatchesFloat64) {
  const SgdCase& c = GetParam();
  const std::vector<Values> want = reference_run(c.reference);
  expect_each_term_matters(c, want);
  expect_within_tolerance(tally_run([&](Tensor p) {
                            return std::make_unique<SGD>(NamedParameters{{"w", p}}, c.reference.o);
                          }),
                          want);
}

INSTANTIATE_TEST_SUITE_P(
    Options, SgdAgainstReference,
    ::testing::Values(
        SgdCase{"plain", sgd(0.1f, 0, 0, 0, false), {{"the step", sgd(0, 0, 0, 0, false)}}},
        SgdCase{"weight_decay",
                sgd(0.1f, 0, 0, 0.2f, false),
                {{"weight decay", sgd(0.1f, 0, 0, 0, false)}}},
        SgdCase{
            "momentum", sgd(0.1f, 0.9f, 0, 0, false), {{"momentum", sgd(0.1f, 0, 0, 0, false)}}},
        SgdCase{"momentum_dampening",
                sgd(0.1f, 0.9f, 0.3f, 0, false),
                {{"dampening", sgd(0.1f, 0.9f, 0, 0, false)},
                 {"the first buffer being the gradient",
                  with_first_buffer_dampened(sgd(0.1f, 0.9f, 0.3f, 0, false))}}},
        SgdCase{"momentum_weight_decay",
                sgd(0.1f, 0.9f, 0, 0.2f, false),
                {{"weight decay", sgd(0.1f, 0.9f, 0, 0, false)}}},
        SgdCase{"momentum_dampening_weight_decay",
                sgd(0.1f, 0.9f, 0.3f, 0.2f, false),
                {{"weight decay", sgd(0.1f, 0.9f, 0.3f, 0, false)},
                 {"dampening", sgd(0.1f, 0.9f, 0, 0.2f, false)}}},
        SgdCase{
            "nesterov", sgd(0.1f, 0.9f, 0, 0, true), {{"nesterov", sgd(0.1f, 0.9f, 0, 0, false)}}},
        SgdCase{"nesterov_weight_decay",
                sgd(0.1f, 0.9f, 0, 0.2f, true),
                {{"weight decay", sgd(0.1f, 0.9f, 0, 0, true)},
                 {"nesterov", sgd(0.1f, 0.9f, 0, 0.2f, false)}}}),
    [](const auto& info) { return info.param.name; });

using AdamWCase = Case<AdamWReference>;

AdamWReference adamw(float lr, float beta1, float beta2, float eps, float weight_decay) {
  AdamWReference r;
  r.o.lr = lr;
  r.o.beta1 = beta1;
  r.o.beta2 = beta2;
  r.o.eps = eps;
  r.o.weight_decay = weight_decay;
  return r;
}

AdamWReference without_bias_correction(AdamWReference r) {
  r.bias_correction = false;
  return r;
}

class AdamWAgainstReference : public ::testing::TestWithParam<AdamWCase> {};

TEST_P(AdamWAgainstReference, EveryStepMatchesFloat64) {
  const AdamWCase& c = GetParam();
  const std::vector<Values> want = reference_run(c.reference);
  expect_each_term_matters(c, want);
  expect_within_tolerance(
      tally_run([&](Tensor p) {
        return std::make_unique<AdamW>(NamedParameters{{"w", p}}, c.reference.o);
      }),
      want);
}

INSTANTIATE_TEST_SUITE_P(
    Options, AdamWAgainstReference,
    ::testing::Values(AdamWCase{"no_weight_decay",
                                adamw(0.05f, 0.9f, 0.999f, 1e-8f, 0),
                                {{"bias correction",
                                  without_bias_correction(adamw(0.05f, 0.9f, 0.999f, 1e-8f, 0))}}},
                      AdamWCase{"weight_decay",
                                adamw(0.05f, 0.9f, 0.999f, 1e-8f, 0.5f),
                                {{"weight decay", adamw(0.05f, 0.9f, 0.999f, 1e-8f, 0)}}},
                      AdamWCase{
                          "betas_eps_weight_decay",
                          adamw(0.05f, 0.8f, 0.95f, 1e-3f, 0.5f),
                          {{"beta1", adamw(0.05f, 0.9f, 0.95f, 1e-3f, 0.5f)},
                           {"beta2", adamw(0.05f, 0.8f, 0.999f, 1e-3f, 0.5f)},
                           {"eps", adamw(0.05f, 0.8f, 0.95f, 1e-8f, 0.5f)},
                           {"weight decay", adamw(0.05f, 0.8f, 0.95f, 1e-3f, 0)},
                           {"bias correction",
                            without_bias_correction(adamw(0.05f, 0.8f, 0.95f, 1e-3f, 0.5f))}}}),
    [](const auto& info) { return info.param.name; });

// Optimizer state, in requested bytes, live on the cpu allocator.
std::int64_t optimizer_bytes(const DeviceAllocator& allocator) {
  return allocator.stats().of(Tag::optimizer).requested_bytes.current;
}

// The state comes at the first step, not at construction, and no more after it: for "fc.weight"
// [2, 3] and "fc.bias" [2] in f32, SGD with momentum holds one buffer each (32 bytes), AdamW two
// (64 bytes), SGD without momentum none; each allocated in the scope "fc".
TEST(OptimizerState, IsAllocatedAtTheFirstStepUnderTheOptimizerTagInTheModuleScope) {
  AllocatorConfig config;
  config.record = true;
  const auto allocator = configure_device(Device::cpu(), config);
  ops::SgdOptions momentum;
  momentum.momentum = 0.9f;
  const std::vector<
      std::pair<std::string, std::function<std::unique_ptr<Optimizer>(NamedParameters)>>>
      optimizers = {
          {"sgd", [](NamedParameters p) { return std::make_unique<SGD>(p, ops::SgdOptions{}); }},
          {"sgd_momentum", [&](NamedParameters p) { return std::make_unique<SGD>(p, momentum); }},
          {"adamw",
           [](NamedParameters p) { return std::make_unique<AdamW>(p, ops::AdamWOptions{}); }},
      };
  const std::vector<std::int64_t> state_bytes = {0, 32, 64};
  for (std::size_t k = 0; k < optimizers.size(); ++k) {
    const auto& [name, make] = optimizers[k];
    Tensor weight = Tensor::from_values(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3}, DType::f32,
                                        Tag::parameter);
    Tensor bias = Tensor::from_values(std::vector<float>{1, 2}, {2}, DType::f32, Tag::parameter);
    set_requires_grad(weight);
    set_requires_grad(bias);
    const std::unique_ptr<Optimizer> optimizer = make({{"fc.weight", weight}, {"fc.bias", bias}});
    EXPECT_EQ(optimizer_bytes(*allocator), 0) << name << " before its first step";
    const std::size_t events_before = allocator->trace().events.size();
    for (int step = 1; step <= 2; ++step) {
      optimizer->zero_grad();
      backward(add(sum(weight), sum(bias)));
      optimizer->step();
      EXPECT_EQ(optimizer_bytes(*allocator), state_bytes[k]) << name << " after step " << step;
    }
    const Trace trace = allocator->trace();
    for (std::size_t e = events_before; e < trace.events.size(); ++e) {
      const Event& event = trace.events[e];
      if (event.action == Action::alloc && event.tag == Tag::optimizer) {
        EXPECT_EQ(scope_name(event.scope), "fc") << name;
      }
    }
  }
  EXPECT_EQ(optimizer_bytes(*allocator), 0) << "every optimizer's state is freed with it";
}

// ops::sgd_update_ and adamw_update_ as master weights use them: an f32 parameter updated from
// gradients stored in 16 bits (or f32) multiplied by a loss scale of 1024, which grad_scale
// divides out as each element is read. The references are fed exactly the gradients the update
// reads (each stored value times 2^-10, an exact product), so the tolerance above holds; and each
// case checks that the references fed the gradients still scaled end far away.
constexpr float kLossScale = 1024.0f;

struct MixedRun {
  std::vector<Values> after;      // the parameter after each step
  std::vector<Values> gradients;  // the gradients each step read, unscaled
};

// kSteps updates of an f32 parameter from gradient(t) * kLossScale stored in `grad_dtype`.
MixedRun mixed_run(DType grad_dtype,
                   const std::function<void(const Tensor& p, const Tensor& g, int t)>& update) {
  const Tensor p = Tensor::from_values(kStart, {6});
  MixedRun run;
  for (int t = 1; t <= kSteps; ++t) {
    std::vector<float> scaled = gradient(t);
    for (float& v : scaled) v *= kLossScale;
    const Tensor g = Tensor::from_values(scaled, {6}, grad_dtype);
    update(p, g, t);
    const std::vector<float> now = p.to_floats(), read = g.to_floats();
    run.after.emplace_back(now.begin(), now.end());
    run.gradients.emplace_back();
    for (const float v : read) run.gradients.back().push_back(double(v) / double(kLossScale));
  }
  return run;
}

// `reference` from kStart over the given gradients, each multiplied by `factor`.
template <typename Reference>
std::vector<Values> reference_over(Reference reference, const std::vector<Values>& gradients,
                                   double factor) {
  Values p(kStart.begin(), kStart.end());
  std::vector<Values> after;
  for (const Values& g : gradients) {
    Values scaled = g;
    for (double& v : scaled) v *= factor;
    reference.step(p, scaled);
    after.push_back(p);
  }
  return after;
}

template <typename Reference>
void expect_mixed_run_matches(const MixedRun& run, const Reference& reference,
                              const std::string& what) {
  SCOPED_TRACE(what);
  const std::vector<Values> want = reference_over(reference, run.gradients, 1.0);
  EXPECT_GT(distance(reference_over(reference, run.gradients, kLossScale), want), 100.0)
      << "leaving the gradients scaled changes too little for the test to notice";
  expect_within_tolerance(run.after, want);
}

TEST(MixedDtypeUpdate, SgdReadsScaledSixteenBitGradientsIntoAnF32Parameter) {
  for (const SgdReference& reference :
       {sgd(0.1f, 0.9f, 0.3f, 0.2f, false), sgd(0.1f, 0.9f, 0, 0.2f, true)}) {
    for (const DType dtype : {DType::f32, DType::f16, DType::bf16}) {
      const Tensor buffer = Tensor::empty({6}, DType::f32, Device::cpu(), Tag::optimizer);
      const MixedRun run = mixed_run(dtype, [&](const Tensor& p, const Tensor& g, int t) {
        ops::sgd_update_(p, g, buffer, t == 1, reference.o, 1.0f / kLossScale);
      });
      expect_mixed_run_matches(
          run, reference,
          std::string(dtype_name(dtype)) + (reference.o.nesterov ? " nesterov" : " dampening"));
    }
  }
}

TEST(MixedDtypeUpdate, AdamWReadsScaledSixteenBitGradientsIntoAnF32Parameter) {
  // eps 1e-3 is on the scale of the smallest gradients, so that their scale matters.
  const AdamWReference reference = adamw(0.05f, 0.8f, 0.95f, 1e-3f, 0.5f);
  for (const DType dtype : {DType::f32, DType::f16, DType::bf16}) {
    const Tensor m = Tensor::from_values(std::vector<float>(6, 0.0f), {6});
    const Tensor v = Tensor::from_values(std::vector<float>(6, 0.0f), {6});
    const MixedRun run = mixed_run(dtype, [&](const Tensor& p, const Tensor& g, int t) {
      ops::adamw_update_(p, g, m, v, t, reference.o, 1.0f / kLossScale);
    });
    expect_mixed_run_matches(run, reference, std::string(dtype_name(dtype)));
  }
}

// Only an f32 parameter takes a gradient of another dtype; the state keeps the parameter's.
TEST(MixedDtypeUpdate, OtherPairsOfDtypesAreRefused) {
  const auto tensor = [](DType dtype) {
    return Tensor::from_values(std::vector<float>{1, 2}, {2}, dtype);
  };
  const ops::SgdOptions sgd_options;
  const ops::AdamWOptions adamw_options;
  const auto refused = [](const std::function<void()>& f, const std::string& part) {
    try {
      f();
      ADD_FAILURE() << "accepted; expected an error mentioning " << part;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  refused([&] { ops::sgd_update_(tensor(DType::f16), tensor(DType::f32), {}, true, sgd_options); },
          "sgd: gradient f32[2] on cpu does not suit parameter f16[2] on cpu");
  refused([&] { ops::sgd_update_(tensor(DType::bf16), tensor(DType::f16), {}, true, sgd_options); },
          "does not suit parameter bf16[2]");
  refused(
      [&] {
        ops::adamw_update_(tensor(DType::f32), tensor(DType::f16), tensor(DType::f16),
                           tensor(DType::f16), 1, adamw_options);
      },
      "adamw: dtype mismatch");
  refused(
      [&] {
        ops::adamw_update_(tensor(DType::f32), tensor(DType::i32), tensor(DType::f32),
                           tensor(DType::f32), 1, adamw_options);
      },
      "does not suit parameter f32[2]");
}

}  // namespace
}  // namespace tally::nn
