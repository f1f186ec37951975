// Convolution and pooling as the allocator sees them: conv2d's column buffer is one workspace of
// the documented size, gone by the time the call returns; sim requests exactly what cpu does;
// f16/bf16 agree with f32; bad shapes fail naming the op and the shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <tuple>
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

const Device kSim = Device::parse("sim");

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
