// Runs every registered op case on every device (see op_table.h).
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/engine.h"
#include "autograd/variable.h"
#include "core/device_registry.h"
#include "tests/ops/op_table.h"

namespace tally::testing {
namespace {

std::vector<Device> table_devices() {
  return {Device::cpu()};
}

struct TableParam {
  std::size_t case_index;
  Device device;
};

std::string param_name(const ::testing::TestParamInfo<TableParam>& info) {
  std::string name = all_cases()[info.param.case_index].name + "_" + info.param.device.str();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

std::vector<TableParam> all_params() {
  std::vector<TableParam> params;
  for (std::size_t i = 0; i < all_cases().size(); ++i) {
    for (Device d : table_devices()) params.push_back({i, d});
  }
  return params;
}

double tolerance_excess(double got, double want, double tolerance) {
  return std::fabs(got - want) - tolerance * std::max(1.0, std::fabs(want));
}

class OpTable : public ::testing::TestWithParam<TableParam> {};

TEST_P(OpTable, ForwardMatchesFloat64AndBackwardMatchesFiniteDifferences) {
  const OpCase& c = all_cases()[GetParam().case_index];
  const Device device = GetParam().device;
  std::mt19937_64 rng(std::hash<std::string>{}(c.name));
  std::vector<RefTensor> refs;
  std::vector<Tensor> inputs;
  for (const InputSpec& spec : c.inputs) {
    refs.push_back(random_ref(spec, rng));
    inputs.push_back(to_tensor(refs.back(), spec, device));
    if (is_differentiable(spec)) set_requires_grad(inputs.back());
  }

  Tensor y = c.run(inputs);
  const RefTensor want = c.reference(refs);
  ASSERT_EQ(y.shape(), want.shape) << c.name;
  const std::vector<float> got = y.to_floats();
  for (std::int64_t i = 0; i < want.numel(); ++i) {
    ASSERT_LE(tolerance_excess(got[i], want.at(i), c.forward_tolerance), 0.0)
        << c.name << " forward element " << i << ": " << got[i] << " vs " << want.at(i);
  }
  if (!c.check_backward) return;

  // L = sum(w * y) with random w, so every output element carries a distinct weight.
  RefTensor weights = random_ref({want.shape}, rng);
  backward(y, to_tensor(weights, {want.shape}, device));
  const auto loss = [&](const std::vector<RefTensor>& at) {
    const RefTensor out = c.reference(at);
    double total = 0;
    for (std::int64_t i = 0; i < out.numel(); ++i) total += weights.at(i) * out.at(i);
    return total;
  };
  for (std::size_t j = 0; j < inputs.size(); ++j) {
    if (!is_differentiable(c.inputs[j])) continue;
    const Tensor g = grad(inputs[j]);
    ASSERT_TRUE(g.defined()) << c.name << ": no gradient for input " << j;
    ASSERT_EQ(g.shape(), refs[j].shape) << c.name << " input " << j;
    const std::vector<float> gv = g.to_floats();
    std::vector<RefTensor> probe = refs;
    for (std::int64_t k = 0; k < refs[j].numel(); ++k) {
      const double x = refs[j].at(k);
      const double h = 1e-6 * std::max(1.0, std::fabs(x));
      probe[j].at(k) = x + h;
      const double up = loss(probe);
      probe[j].at(k) = x - h;
      const double down = loss(probe);
      probe[j].at(k) = x;
      const double numeric = (up - down) / (2 * h);
      ASSERT_LE(tolerance_excess(gv[k], numeric, c.backward_tolerance), 0.0)
          << c.name << " gradient of input " << j << " element " << k << ": " << gv[k]
          << " vs finite difference " << numeric;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ops, OpTable, ::testing::ValuesIn(all_params()), param_name);

}  // namespace
}  // namespace tally::testing
