// Convolution and pooling as the allocator sees them: conv2d's column buffer is one workspace of
// the documented size, gone by the time the call returns; sim requests exactly what cpu does;
// f16/bf16 agree with f32; bad shapes fail naming the op and the shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "allocator/error.h"
#include "autograd/conv_functions.h"
#include "autograd/engine.h"
#include "autograd/variable.h"
#include "core/device_registry.h"
#include "ops/conv2d.h"
#include "ops/elementwise.h"
#include "ops/pool.h"

namespace tally {
namespace {

const Device kSim = Device::parse("sim:cpu");

Tensor random(Shape shape, std::uint64_t seed, DType dtype = DType::f32) {
  std::vector<float> values(static_cast<std::size_t>(shape_numel(shape)));
  for (float& v : values) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    v = static_cast<float>(seed >> 40) / static_cast<float>(1 << 24) * 2.0f - 1.0f;
  }
  return Tensor::from_values(values, std::move(shape), dtype);
}

// The alloc and free events of `tag`, in order.
std::vector<Event> events_of(const Trace& trace, Tag tag) {
  std::vector<Event> out;
  for (const Event& e : trace.events) {
    if ((e.action == Action::alloc || e.action == Action::free) && e.tag == tag) out.push_back(e);
  }
  return out;
}

class ConvMemory : public ::testing::Test {
 protected:
  void SetUp() override {
    AllocatorConfig config;
    config.record = true;
    cpu_ = configure_device(Device::cpu(), config);
    sim_ = configure_device(kSim, config);
  }
  void TearDown() override {
    configure_device(Device::cpu(), {});
    configure_device(kSim, {});
  }

  std::shared_ptr<DeviceAllocator> cpu_, sim_;
};

// The rule of ops/conv2d.h: f32 [C * KH * KW, OH * OW], whatever N.
std::uint64_t column_bytes(std::int64_t c, std::int64_t k, std::int64_t oh, std::int64_t ow) {
  return 4u * static_cast<std::uint64_t>(c * k * k * oh * ow);
}

TEST_F(ConvMemory, ForwardTakesOneColumnBufferOfTheDocumentedSizeFreedBeforeItReturns) {
  for (std::int64_t batch : {1, 5}) {
    const Tensor x = random({batch, 3, 9, 8}, 1), w = random({4, 3, 3, 3}, 2), b = random({4}, 3);
    cpu_->clear_trace();
    cpu_->reset_peak();
    const Tensor y = ops::conv2d(x, w, b, 2, 1);  // OH = (9 + 2 - 3) / 2 + 1 = 5, OW = 4
    ASSERT_EQ(y.shape(), (Shape{batch, 4, 5, 4}));
    const std::uint64_t expected = column_bytes(3, 3, 5, 4);
    EXPECT_EQ(ops::conv2d_column_shape(x.shape(), w.shape(), 2, 1), (Shape{27, 20}));

    const AllocatorStats stats = cpu_->stats();
    EXPECT_EQ(stats.of(Tag::workspace).requested_bytes.current, 0);
    EXPECT_EQ(stats.of(Tag::workspace).requested_bytes.peak, static_cast<std::int64_t>(expected));
    const std::vector<Event> work = events_of(cpu_->trace(), Tag::workspace);
    ASSERT_EQ(work.size(), 2u) << "batch " << batch;
    EXPECT_EQ(work[0].action, Action::alloc);
    EXPECT_EQ(work[0].requested, expected);
    EXPECT_EQ(work[1].action, Action::free);
    EXPECT_EQ(work[1].address, work[0].address);
    // The output comes first, and is the only thing still held.
    const std::vector<Event> temp = events_of(cpu_->trace(), Tag::temporary);
    ASSERT_EQ(temp.size(), 1u);
    EXPECT_LT(temp[0].seq, work[0].seq);
    EXPECT_EQ(temp[0].requested, static_cast<std::uint64_t>(y.numel()) * 4u);
  }
}

TEST_F(ConvMemory, BackwardTakesOneColumnBufferOfTheSameSize) {
  const Tensor x = random({3, 2, 6, 6}, 4), w = random({5, 2, 3, 3}, 5);
  const Tensor g = random({3, 5, 6, 6}, 6);
  cpu_->clear_trace();
  const ops::Conv2dGrads r = ops::conv2d_backward(g, x, w, 1, 1, true, true, true);
  EXPECT_EQ(cpu_->stats().of(Tag::workspace).requested_bytes.current, 0);
  const std::vector<Event> work = events_of(cpu_->trace(), Tag::workspace);
  ASSERT_EQ(work.size(), 2u);
  EXPECT_EQ(work[0].requested, column_bytes(2, 3, 6, 6));
  EXPECT_EQ(work[1].action, Action::free);

  cpu_->clear_trace();
  const ops::Conv2dGrads bias_only =
      ops::conv2d_backward(g, Tensor(), Tensor(), 1, 1, false, false, true);
  EXPECT_TRUE(events_of(cpu_->trace(), Tag::workspace).empty());
  EXPECT_EQ(bias_only.bias.to_floats(), r.bias.to_floats());
}

TEST_F(ConvMemory, HalfPrecisionAddsOneImageOfF32AsWorkspace) {
  const Tensor x = random({2, 3, 5, 5}, 7, DType::f16), w = random({4, 3, 3, 3}, 8, DType::f16);
  cpu_->clear_trace();
  const Tensor y = ops::conv2d(x, w, Tensor());
  const std::vector<Event> work = events_of(cpu_->trace(), Tag::workspace);
  ASSERT_EQ(work.size(), 4u);
  EXPECT_EQ(work[0].requested, column_bytes(3, 3, 3, 3));
  EXPECT_EQ(work[1].requested, 4u * 4u * 3u * 3u);  // f32 [O, OH * OW]
  EXPECT_EQ(cpu_->stats().of(Tag::workspace).requested_bytes.current, 0);

  cpu_->clear_trace();
  const ops::Conv2dGrads r =
      ops::conv2d_backward(ops::cast(y, DType::f16), x, w, 1, 0, true, false, false);
  const std::vector<Event> back = events_of(cpu_->trace(), Tag::workspace);
  ASSERT_EQ(back.size(), 4u);
  EXPECT_EQ(back[0].requested, column_bytes(3, 3, 3, 3));
  EXPECT_EQ(back[1].requested, 4u * 3u * 5u * 5u);  // f32 [C, H, W]
  EXPECT_EQ(cpu_->stats().of(Tag::workspace).requested_bytes.current, 0);
}

TEST_F(ConvMemory, SimRequestsExactlyWhatCpuRequests) {
  const auto run = [](Device device, const std::shared_ptr<DeviceAllocator>& allocator) {
    const auto make = [&](Shape shape, std::uint64_t seed) {
      // Tagged as random()'s CPU tensors are, so that their frees match too.
      Tensor t = device == Device::cpu() ? random(shape, seed)
                                         : Tensor::empty(shape, DType::f32, device, Tag::other);
      return set_requires_grad(t);
    };
    {
      Tensor x = make({2, 3, 8, 8}, 9), w = make({4, 3, 3, 3}, 10), b = make({4}, 11);
      allocator->clear_trace();
      const Tensor pooled = avg_pool2d(max_pool2d(conv2d(x, w, b, 1, 1), 2), 3, 1, 1);
      backward(pooled, ops::unary(ops::UnaryOp::neg, pooled.detach()));
    }
    std::vector<std::tuple<Action, std::uint64_t, std::optional<Tag>>> requests;
    for (const Event& e : allocator->trace().events) {
      if (e.action == Action::alloc || e.action == Action::free || e.action == Action::retag) {
        requests.emplace_back(e.action, e.requested, e.tag);
      }
    }
    return requests;
  };
  const auto on_cpu = run(Device::cpu(), cpu_);
  EXPECT_GT(on_cpu.size(), 10u);
  EXPECT_EQ(run(kSim, sim_), on_cpu);
}

// |a - b| <= tol * max(1, |b|) elementwise.
void expect_close(const Tensor& a, const Tensor& b, double tol, const std::string& what) {
  const std::vector<float> av = a.to_floats(), bv = b.to_floats();
  ASSERT_EQ(av.size(), bv.size()) << what;
  for (std::size_t i = 0; i < av.size(); ++i) {
    ASSERT_LE(std::fabs(av[i] - bv[i]), tol * std::max(1.0f, std::fabs(bv[i])))
        << what << " element " << i << ": " << av[i] << " vs " << bv[i];
  }
}

TEST(ConvPrecision, HalfAndBFloat16AgreeWithF32ForwardAndBackward) {
  const Tensor x = random({2, 3, 6, 5}, 12), w = random({4, 3, 3, 3}, 13), b = random({4}, 14);
  const Tensor g = random({2, 4, 3, 3}, 15);
  const Tensor y = ops::conv2d(x, w, b, 2, 1);
  const ops::Conv2dGrads r = ops::conv2d_backward(g, x, w, 2, 1, true, true, true);
  const ops::MaxPoolResult m = ops::max_pool2d(x, 3, 2, 1);
  const Tensor a = ops::avg_pool2d(x, 2);
  for (DType dtype : {DType::f16, DType::bf16}) {
    const double tol = dtype == DType::f16 ? 1e-2 : 6e-2;
    const auto narrow = [dtype](const Tensor& t) { return ops::cast(t, dtype); };
    const std::string name(dtype_name(dtype));
    expect_close(ops::conv2d(narrow(x), narrow(w), narrow(b), 2, 1), y, tol, name + " conv2d");
    const ops::Conv2dGrads h =
        ops::conv2d_backward(narrow(g), narrow(x), narrow(w), 2, 1, true, true, true);
    expect_close(h.x, r.x, tol, name + " dx");
    expect_close(h.weight, r.weight, tol, name + " dweight");
    expect_close(h.bias, r.bias, tol, name + " dbias");
    expect_close(ops::max_pool2d(narrow(x), 3, 2, 1).values, m.values, tol, name + " max_pool2d");
    expect_close(ops::avg_pool2d(narrow(x), 2), a, tol, name + " avg_pool2d");
  }
}

// Kernel 2, stride 2 max pooling by PyTorch's rule, written naively over a contiguous [N, C, H, W]:
// a NaN wins (the last in window order), otherwise the first maximum in window order.
void naive_max_pool_2x2(const std::vector<float>& x, const Shape& shape, std::vector<float>& values,
                        std::vector<std::int64_t>& indices) {
  const std::int64_t planes = shape[0] * shape[1], h = shape[2], w = shape[3];
  const std::int64_t oh = h / 2, ow = w / 2;
  for (std::int64_t p = 0; p < planes; ++p) {
    for (std::int64_t i = 0; i < oh; ++i) {
      for (std::int64_t j = 0; j < ow; ++j) {
        float best = -std::numeric_limits<float>::infinity();
        std::int64_t best_at = 2 * i * w + 2 * j;
        for (std::int64_t y = 2 * i; y < 2 * i + 2; ++y) {
          for (std::int64_t z = 2 * j; z < 2 * j + 2; ++z) {
            const float v = x[static_cast<std::size_t>((p * h + y) * w + z)];
            if (v > best || std::isnan(v)) {
              best = v;
              best_at = y * w + z;
            }
          }
        }
        values.push_back(best);
        indices.push_back(best_at);
      }
    }
  }
}

// The 2x2, stride 2 fast path against the naive rule, through windows full of ties, NaNs (one,
// two in a window, and one in the row and column an odd size leaves out), infinities, a row
// stride wider than the row, f16, and without indices; and the generic path (a transposed input)
// giving the same.
TEST(MaxPool, TwoByTwoMatchesPyTorchsRuleOnTiesNaNAndInfinity) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const Shape full{2, 3, 7, 9};
  std::vector<float> values(static_cast<std::size_t>(shape_numel(full)));
  std::uint64_t seed = 24;
  for (float& v : values) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    v = std::max(0.0f, static_cast<float>(seed >> 61) - 3.0f);  // 0 five times in eight
  }
  // Positions in the slice x below, which drops the first column of `full`.
  const auto set = [&](std::int64_t plane, std::int64_t y, std::int64_t z, float v) {
    values[static_cast<std::size_t>((plane * 7 + y) * 9 + z + 1)] = v;
  };
  set(0, 2, 3, nan);
  set(4, 2, 2, nan);
  set(4, 3, 3, nan);
  set(1, 6, 0, nan);  // in the row H = 7 leaves out
  set(2, 0, 6, nan);  // in the column W = 7 leaves out
  set(3, 4, 4, inf);
  for (std::int64_t y : {0, 1}) {
    for (std::int64_t z : {4, 5}) set(5, y, z, -inf);
  }
  set(5, 0, 2, -inf);
  set(5, 0, 3, -inf);
  set(5, 1, 2, -1.0f);
  set(5, 1, 3, -inf);
  const Tensor padded = Tensor::from_values(values, full);
  const Tensor x = padded.slice(3, 1, 8);  // rows of 7 a stride of 9 apart
  std::vector<float> want_values;
  std::vector<std::int64_t> want_indices;
  naive_max_pool_2x2(x.contiguous().to_floats(), x.shape(), want_values, want_indices);
  const Tensor transposed = x.transpose(2, 3).contiguous().transpose(2, 3);
  const auto check = [&](const Tensor& values, const Tensor& indices, const std::string& what) {
    ASSERT_EQ(values.shape(), (Shape{2, 3, 3, 3})) << what;
    const std::vector<float> got = values.to_floats();
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(got[i] == want_values[i] || (std::isnan(got[i]) && std::isnan(want_values[i])))
          << what << " element " << i << ": " << got[i] << " vs " << want_values[i];
      if (indices.defined()) {
        EXPECT_EQ(indices.data<std::int64_t>()[i], want_indices[i]) << what << " element " << i;
      }
    }
  };
  for (const auto& [input, what] :
       {std::pair{x, "strided rows"}, {x.contiguous(), "contiguous"}, {transposed, "transposed"}}) {
    const ops::MaxPoolResult r = ops::max_pool2d(input, 2);
    check(r.values, r.indices, what);
    check(ops::max_pool2d(input, 2, 2, 0, false).values, Tensor(),
          std::string(what) + " no indices");
    const ops::MaxPoolResult h = ops::max_pool2d(ops::cast(input, DType::f16), 2);
    check(h.values, h.indices, std::string(what) + " f16");
  }
}

// The message of the tally::Error `f` throws, or "" when it throws none.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void expect_names(const std::string& message, std::vector<std::string> parts) {
  EXPECT_FALSE(message.empty()) << "no tally::Error thrown";
  for (const std::string& part : parts) {
    EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
  }
}

TEST(ConvErrors, BadShapesNameTheOpAndTheShapes) {
  const Tensor x = random({1, 3, 5, 5}, 16);
  expect_names(error_of([&] {
                 ops::conv2d(x, random({2, 2, 3, 3}, 17), Tensor());
               }),
               {"conv2d", "[1, 3, 5, 5]", "[2, 2, 3, 3]", "channels"});
  expect_names(error_of([&] {
                 ops::conv2d(x, random({2, 3, 7, 7}, 18), Tensor());
               }),
               {"conv2d", "[1, 3, 5, 5]", "[2, 3, 7, 7]", "kernel larger"});
  EXPECT_EQ(ops::conv2d(x, random({2, 3, 7, 7}, 18), Tensor(), 1, 1).shape(), (Shape{1, 2, 1, 1}));
  expect_names(error_of([&] {
                 ops::conv2d(x, random({2, 3, 3, 3}, 19), random({3}, 20));
               }),
               {"conv2d", "bias", "[3]", "[2, 3, 3, 3]"});
  expect_names(error_of([&] {
                 ops::conv2d(random({3, 5, 5}, 21), random({2, 3, 3, 3}, 22), Tensor());
               }),
               {"conv2d", "[3, 5, 5]"});
  expect_names(error_of([&] {
                 conv2d(x, random({2, 3, 3, 3}, 23), Tensor(), 0);
               }),
               {"conv2d", "stride"});
  expect_names(error_of([&] { max_pool2d(x, 7); }), {"max_pool2d", "[1, 3, 5, 5]", "kernel 7"});
  expect_names(error_of([&] { avg_pool2d(x, 2, 2, 2); }), {"avg_pool2d", "padding 2"});
}

}  // namespace
}  // namespace tally
