// The op consistency table: every differentiable op, run on every device, forward against a
// naive float64 reference and backward against float64 central finite differences of that
// reference, on seeded random inputs. Each op family lists its rows in its own file and
// registers them with TALLY_OP_CASES; adding an op adds rows, adding a device adds nothing here
// but an entry in table_devices().
#pragma once

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tally::testing {

// A float64 tensor for references: row-major values and a shape.
struct RefTensor {
  Shape shape;
  std::vector<double> values;

  std::int64_t numel() const { return shape_numel(shape); }
  double& at(std::int64_t i) { return values[static_cast<std::size_t>(i)]; }
  double at(std::int64_t i) const { return values[static_cast<std::size_t>(i)]; }
};

enum class InputKind {
  normal,    // N(0, 1), f32, differentiable
  positive,  // U(0.5, 2), f32, differentiable (log, sqrt, div)
  labels,    // integers in [0, range), i64, not differentiable
  mask,      // 0 or 1, u8, not differentiable
  constant,  // N(0, 1), f32, not differentiable
};

struct InputSpec {
  Shape shape;
  InputKind kind = InputKind::normal;
  std::int64_t range = 0;   // for labels
  bool transposed = false;  // pass a transposed view of a contiguous tensor (last two dims)
};

struct OpCase {
  std::string name;  // "op/variant", unique
  std::vector<InputSpec> inputs;
  // The tally call, through the differentiable API.
  std::function<Tensor(const std::vector<Tensor>&)> run;
  // The same function in float64, written naively.
  std::function<RefTensor(const std::vector<RefTensor>&)> reference;
  double forward_tolerance = 1e-5;   // |tally - ref| <= tol * max(1, |ref|)
  double backward_tolerance = 1e-3;  // against finite differences, same form
  bool check_backward = true;
};

using CaseList = std::vector<OpCase>;
int register_cases(CaseList (*make)());
const std::vector<OpCase>& all_cases();

bool is_differentiable(const InputSpec& spec);
// Seeded random values of the spec's kind, each exactly representable as a float.
RefTensor random_ref(const InputSpec& spec, std::mt19937_64& rng);
// A tensor on `device` holding r's values: `floating` for the differentiable and constant kinds,
// i64 labels, u8 masks. A transposed spec gives a transposed view of a tensor laid out the other
// way, so that ops meet non-contiguous inputs on every device.
Tensor to_tensor(const RefTensor& r, const InputSpec& spec, Device device,
                 DType floating = DType::f32);

// Row-major index helpers for references.
std::int64_t flat_index(const Shape& shape, const std::vector<std::int64_t>& index);
// The reference value of broadcasting `t` to `shape`.
RefTensor ref_broadcast(const RefTensor& t, const Shape& shape);

}  // namespace tally::testing

#define TALLY_OP_CASES(make) \
  [[maybe_unused]] static const int make##_registered = ::tally::testing::register_cases(make)
