// Table rows: elementwise math, broadcasting, scalar variants and masked_fill.
#include <cmath>

#include "autograd/functions.h"
#include "ops/functors.h"
#include "tests/ops/op_table.h"

namespace tally::testing {
namespace {

using Inputs = std::vector<Tensor>;
using Refs = std::vector<RefTensor>;

RefTensor map_ref(const RefTensor& x, double (*f)(double)) {
  RefTensor out = x;
  for (double& v : out.values) v = f(v);
  return out;
}

Shape broadcast_ref_shape(const Shape& a, const Shape& b) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t x = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::int64_t y = i < n - b.size() ? 1 : b[i - (n - b.size())];
    out[i] = std::max(x, y);
  }
  return out;
}

template <typename F>
RefTensor zip_ref(const RefTensor& a, const RefTensor& b, F f) {
  const Shape shape = broadcast_ref_shape(a.shape, b.shape);
  const RefTensor x = ref_broadcast(a, shape), y = ref_broadcast(b, shape);
  RefTensor out{shape, std::vector<double>(x.values.size())};
  for (std::size_t i = 0; i < out.values.size(); ++i) out.values[i] = f(x.values[i], y.values[i]);
  return out;
}

OpCase unary_case(std::string name, Tensor (*op)(const Tensor&), double (*ref)(double),
                  InputKind kind = InputKind::normal) {
  return {name,
          {{{3, 5}, kind}},
          [op](const Inputs& in) { return op(in[0]); },
          [ref](const Refs& r) { return map_ref(r[0], ref); }};
}

double gelu_ref(double x) {
  return 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

double silu_ref(double x) {
  return x / (1.0 + std::exp(-x));
}

template <typename F>
OpCase binary_case(std::string name, Tensor (*op)(const Tensor&, const Tensor&), F ref, InputSpec a,
                   InputSpec b) {
  return {name,
          {a, b},
          [op](const Inputs& in) { return op(in[0], in[1]); },
          [ref](const Refs& r) { return zip_ref(r[0], r[1], ref); }};
}

CaseList elementwise_cases() {
  const auto plus = [](double x, double y) { return x + y; };
  const auto minus = [](double x, double y) { return x - y; };
  const auto times = [](double x, double y) { return x * y; };
  const auto over = [](double x, double y) { return x / y; };
  Tensor (*add_t)(const Tensor&, const Tensor&) = add;
  Tensor (*mul_t)(const Tensor&, const Tensor&) = mul;
  CaseList cases{
      unary_case("neg", neg, [](double x) { return -x; }),
      unary_case("exp", exp, [](double x) { return std::exp(x); }),
      unary_case(
          "log", log, [](double x) { return std::log(x); }, InputKind::positive),
      unary_case(
          "sqrt", sqrt, [](double x) { return std::sqrt(x); }, InputKind::positive),
      unary_case("tanh", tanh, [](double x) { return std::tanh(x); }),
      unary_case("sigmoid", sigmoid, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }),
      unary_case("relu", relu, [](double x) { return x > 0 ? x : 0.0; }),
      unary_case("gelu", gelu, gelu_ref),
      unary_case("silu", silu, silu_ref),
      // Scaled to reach both tails, where sigmoid saturates: silu(x) -> x and -> 0.
      {"silu/wide_range",
       {{{4, 5}}},
       [](const Inputs& in) { return silu(mul(in[0], 8.0f)); },
       [](const Refs& r) {
         return map_ref(map_ref(r[0], [](double x) { return 8 * x; }), silu_ref);
       }},
      binary_case("add/same", add_t, plus, {{4, 3}}, {{4, 3}}),
      binary_case("add/broadcast_row", add_t, plus, {{4, 3}}, {{3}}),
      binary_case("add/broadcast_both", add_t, plus, {{4, 1, 3}}, {{2, 1}}),
      binary_case("add/transposed", add_t, plus, {{3, 4}, InputKind::normal, 0, true}, {{3, 4}}),
      binary_case("sub/broadcast_column", sub, minus, {{4, 3}}, {{4, 1}}),
      binary_case("mul/broadcast", mul_t, times, {{2, 3, 4}}, {{3, 1}}),
      binary_case("mul/transposed", mul_t, times, {{2, 3, 4}, InputKind::normal, 0, true},
                  {{2, 3, 4}, InputKind::normal, 0, true}),
      binary_case("div/broadcast", div, over, {{3, 4}}, {{4}, InputKind::positive}),
      {"add_scalar",
       {{{3, 4}}},
       [](const Inputs& in) { return add(in[0], 1.5f); },
       [](const Refs& r) {
         return zip_ref(r[0], RefTensor{{}, {1.5}}, [](double x, double y) { return x + y; });
       }},
      {"mul_scalar",
       {{{3, 4}}},
       [](const Inputs& in) { return mul(in[0], -0.75f); },
       [](const Refs& r) {
         return zip_ref(r[0], RefTensor{{}, {-0.75}}, [](double x, double y) { return x * y; });
       }},
      {"masked_fill/causal",
       {{{2, 4, 4}}, {{4, 4}, InputKind::mask}},
       [](const Inputs& in) { return masked_fill(in[0], in[1], -3.0f); },
       [](const Refs& r) {
         return zip_ref(r[0], r[1], [](double x, double m) { return m != 0 ? -3.0 : x; });
       }},
  };
  return cases;
}

}  // namespace

TALLY_OP_CASES(elementwise_cases);

}  // namespace tally::testing
