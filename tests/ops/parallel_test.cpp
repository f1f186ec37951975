// tally's own CPU loops across threads (ops/parallel.h): parallel_for itself, then ops and whole
// training steps run at 1, 2 and 3 threads, which must give the same bits and request the same
// blocks (sizes, tags, order) whatever the thread count.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "autograd/attention.h"
#include "autograd/conv_functions.h"
#include "autograd/engine.h"
#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "autograd/variable.h"
#include "core/device_registry.h"
#include "core/generator.h"
#include "nn/models.h"
#include "nn/trainer.h"
#include "nn/transformer_config.h"
#include "ops/elementwise.h"
#include "ops/factory.h"
#include "ops/parallel.h"
#include "ops/rotary.h"
#include "ops/threads.h"

namespace tally {
namespace {

constexpr int kThreadCounts[] = {1, 2, 3};

// Sets both pools' thread count for a scope (ops::set_num_threads), restoring the one before.
class ThreadCount {
 public:
  explicit ThreadCount(int threads) : before_(ops::num_threads()) { ops::set_num_threads(threads); }
  ~ThreadCount() { ops::set_num_threads(before_); }

 private:
  int before_;
};

// Sizes tally's own pool for a scope, leaving OpenBLAS's as it is. OpenBLAS splits a GEMM's work
// by its thread count, and the GEMM's sums with it, so bits are compared with its count fixed.
class PoolSize {
 public:
  explicit PoolSize(int threads) { ops::detail::resize_pool(threads); }
  ~PoolSize() { ops::detail::resize_pool(ops::num_threads()); }
};

TEST(ParallelFor, CoversTheRangeOnceInChunksOfAtLeastTheGrain) {
  for (int threads : kThreadCounts) {
    const ThreadCount scope(threads);
    for (std::int64_t n : {1, 7, 100, 1000, 4097}) {
      for (std::int64_t grain : {1, 3, 64, 5000}) {
        std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
        std::atomic<int> chunks = 0, short_chunks = 0;
        ops::parallel_for(n, grain, [&](std::int64_t begin, std::int64_t end) {
          ++chunks;
          if (end - begin < grain && end != n) ++short_chunks;
          for (std::int64_t i = begin; i < end; ++i) ++hits[static_cast<std::size_t>(i)];
        });
        for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i], 1) << n << " " << grain << " " << i;
        EXPECT_LE(chunks, threads);
        EXPECT_EQ(short_chunks, 0);
      }
    }
  }
}

TEST(ParallelFor, NestedCallsRunInline) {
  const ThreadCount scope(2);
  std::atomic<std::int64_t> total = 0;
  ops::parallel_for(1000, 1, [&](std::int64_t begin, std::int64_t end) {
    ops::parallel_for(end - begin, 1, [&](std::int64_t b, std::int64_t e) {
      EXPECT_EQ(b, 0);
      EXPECT_EQ(e, end - begin);
      total += e - b;
    });
  });
  EXPECT_EQ(total, 1000);
}

TEST(ParallelFor, RethrowsTheErrorASingleThreadWouldMeetFirst) {
  for (int threads : kThreadCounts) {
    const ThreadCount scope(threads);
    try {
      ops::parallel_for(3000, 1, [](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
          if (i % 1000 == 999) throw std::runtime_error(std::to_string(i));
        }
      });
      FAIL() << "no error at " << threads << " threads";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "999") << threads << " threads";
    }
  }
}

TEST(ParallelFor, SetNumThreadsResizesThePool) {
  for (int threads : {3, 1, 2}) {
    const ThreadCount scope(threads);
    EXPECT_EQ(ops::num_threads(), threads);
    std::atomic<int> chunks = 0;
    ops::parallel_for(threads * 100, 100, [&](std::int64_t, std::int64_t) { ++chunks; });
    EXPECT_EQ(chunks, threads);
  }
}

// What a run leaves to compare: every value's bits, and the block requests in order.
struct Outcome {
  std::vector<std::vector<float>> values;
  std::vector<std::tuple<Action, std::uint64_t, std::uint64_t, std::optional<Tag>, Phase>> events;
};

// Runs `body` on the cpu with recording on, from a fixed seed and an emptied cache.
Outcome record(const std::function<std::vector<Tensor>()>& body) {
  const auto allocator = device_allocator(Device::cpu());
  allocator->empty_cache();
  allocator->clear_trace();
  allocator->set_recording(true);
  manual_seed(7);
  Outcome out;
  for (const Tensor& t : body()) out.values.push_back(t.to_floats());
  allocator->set_recording(false);
  for (const Event& e : allocator->trace().events) {
    out.events.emplace_back(e.action, e.requested, e.allocated, e.tag, e.phase);
  }
  allocator->clear_trace();
  return out;
}

// Equal bits (NaN included), element for element.
void expect_same(const Outcome& got, const Outcome& want, const std::string& what) {
  ASSERT_EQ(got.values.size(), want.values.size()) << what;
  for (std::size_t i = 0; i < got.values.size(); ++i) {
    ASSERT_EQ(got.values[i].size(), want.values[i].size()) << what << " value " << i;
    for (std::size_t j = 0; j < got.values[i].size(); ++j) {
      ASSERT_EQ(std::memcmp(&got.values[i][j], &want.values[i][j], sizeof(float)), 0)
          << what << " value " << i << " element " << j << ": " << got.values[i][j] << " vs "
          << want.values[i][j];
    }
  }
  EXPECT_FALSE(want.events.empty()) << what;
  EXPECT_EQ(got.events, want.events) << what;
}

Tensor input(Shape shape, DType dtype = DType::f32) {
  Tensor t = ops::cast(ops::randn(std::move(shape), Device::cpu()), dtype);
  return set_requires_grad(t);
}

Tensor labels(std::int64_t count, std::int64_t range) {
  std::vector<float> values;
  for (std::int64_t i = 0; i < count; ++i) values.push_back(static_cast<float>(i * 7919 % range));
  return Tensor::from_values(values, {count}, DType::i64);
}

struct OpCase {
  const char* name;
  std::vector<std::function<Tensor()>> inputs;
  std::function<Tensor(const std::vector<Tensor>&)> run;
};

// Shapes large enough that every kernel splits its work at 2 and 3 threads, and views that make
// the strided loops cut rows between chunks.
std::vector<OpCase> op_cases() {
  const auto shaped = [](Shape shape, DType dtype = DType::f32) {
    return [=] { return input(shape, dtype); };
  };
  return {
      {"gelu_silu_tanh", {shaped({300, 257})}, [](auto& in) { return silu(tanh(gelu(in[0]))); }},
      {"exp_sigmoid_of_a_transpose",
       {shaped({257, 300})},
       [](auto& in) { return sigmoid(exp(mul(transpose(in[0], 0, 1), 0.1f))); }},
      {"broadcast_add_mul_relu",
       {shaped({64, 33, 40}), shaped({40}), shaped({64, 1, 40})},
       [](auto& in) { return relu(mul(add(in[0], in[1]), in[2])); }},
      {"masked_fill_softmax",
       {shaped({16, 64, 64})},
       [](auto& in) {
         const Tensor mask = ops::causal_mask(64, Device::cpu());
         return softmax(masked_fill(in[0], mask, -1e9f), -1);
       }},
      {"softmax_across_rows", {shaped({16, 300, 20})}, [](auto& in) { return softmax(in[0], 1); }},
      {"log_softmax", {shaped({200, 333})}, [](auto& in) { return log_softmax(in[0], -1); }},
      {"layer_norm",
       {shaped({512, 96}), shaped({96}), shaped({96})},
       [](auto& in) { return layer_norm(in[0], in[1], in[2]); }},
      {"layer_norm_bf16",
       {shaped({256, 96}, DType::bf16), shaped({96}, DType::bf16), shaped({96}, DType::bf16)},
       [](auto& in) { return layer_norm(in[0], in[1], in[2]); }},
      {"rms_norm",
       {shaped({512, 96}), shaped({96})},
       [](auto& in) { return rms_norm(in[0], in[1]); }},
      {"cross_entropy",
       {shaped({512, 256})},
       [](auto& in) { return cross_entropy(in[0], labels(512, 256)); }},
      {"embedding",
       {shaped({50, 64})},
       [](auto& in) {
         return embedding(labels(2400, 50).view({40, 60}), in[0]);
       }},
      {"rotary_of_a_transpose",
       {shaped({8, 64, 4, 16})},
       [](auto& in) {
         const ops::RotaryTables t = ops::rotary_tables(64, 16, 1e4, Device::cpu(), Tag::other);
         return rotary_embedding(transpose(in[0], 1, 2), t.cos, t.sin);
       }},
      {"dropout", {shaped({256, 300})}, [](auto& in) { return dropout(in[0], 0.3f); }},
      {"conv2d_max_pool",
       {shaped({16, 8, 20, 20}), shaped({16, 8, 3, 3}), shaped({16})},
       [](auto& in) { return max_pool2d(relu(conv2d(in[0], in[1], in[2], 1, 1)), 2); }},
      {"conv2d_strided_pools",
       {shaped({8, 6, 21, 21}), shaped({12, 6, 5, 5}), shaped({12})},
       [](auto& in) {
         const Tensor y = conv2d(in[0], in[1], in[2], 2, 2);
         return add(max_pool2d(y, 3, 2, 1), avg_pool2d(y, 3, 2, 1));
       }},
      {"conv2d_f16",
       {shaped({8, 4, 16, 16}, DType::f16), shaped({8, 4, 3, 3}, DType::f16),
        shaped({8}, DType::f16)},
       [](auto& in) { return conv2d(in[0], in[1], in[2], 1, 1); }},
      {"matmul_bf16",
       {shaped({128, 200}, DType::bf16), shaped({200, 64}, DType::bf16)},
       [](auto& in) { return matmul(in[0], in[1]); }},
      {"attention",
       {shaped({4, 4, 64, 16}), shaped({4, 4, 64, 16}), shaped({4, 4, 64, 16})},
       [](auto& in) {
         return causal_attention(in[0], in[1], in[2], ops::causal_mask(64, Device::cpu()), 0.1f,
                                 true);
       }},
      {"sums_and_max",
       {shaped({3, 200, 200})},
       [](auto& in) {
         // Dimensions 0 and 2 of the transpose are neighbours in memory: a chunk of one index
         // along dimension 1 must not change how their sums are taken.
         const Tensor t = transpose(in[0], 0, 1);
         return concat({sum(t, {0, 2}), mean(max(in[0], 2), {0}), sum(mul(in[0], in[0]), {0, 1})},
                       0);
       }},
      {"mse_loss",
       {shaped({300, 300}), shaped({300, 300})},
       [](auto& in) { return mse_loss(in[0], in[1]); }},
  };
}

TEST(ParallelOps, GiveTheSameBitsAndBlocksAtEveryThreadCount) {
  for (const OpCase& c : op_cases()) {
    const auto body = [&] {
      std::vector<Tensor> inputs;
      for (const auto& make : c.inputs) inputs.push_back(make());
      const Tensor y = c.run(inputs);
      backward(y, ops::cast(ops::randn(y.shape(), Device::cpu()), y.dtype()));
      std::vector<Tensor> values{y};
      for (const Tensor& x : inputs) values.push_back(grad(x));
      return values;
    };
    Outcome want;
    for (int threads : kThreadCounts) {
      const PoolSize scope(threads);
      if (threads == 1) {
        want = record(body);
      } else {
        expect_same(record(body), want, std::string(c.name) + " at " + std::to_string(threads));
      }
    }
  }
}

// Two steps of a zoo model with AdamW from one seed: the loss and every parameter afterwards.
std::vector<Tensor> train_two_steps(const std::string& model_name) {
  const std::shared_ptr<nn::Module> model = nn::make_model(model_name);
  nn::TrainOptions options;
  options.model = model_name;
  options.optimizer = "adamw";
  options.lr = 0.01f;
  const std::unique_ptr<nn::Optimizer> optimizer = nn::make_optimizer(options, *model);
  Tensor images, targets;
  if (const auto config = nn::zoo_transformer(model_name)) {
    images = labels(4 * 64, config->vocab).view({4, 64});
    targets = labels(4 * 64, config->vocab);
  } else {
    images = ops::randn({32, 1, 28, 28}, Device::cpu(), Tag::other);
    targets = labels(32, 10);
  }
  std::vector<Tensor> out;
  for (int step = 0; step < 2; ++step) {
    const float loss = nn::train_step(*model, *optimizer, images, targets);
    out.push_back(Tensor::from_values(std::vector<float>{loss}, {1}));
  }
  for (const Tensor& p : model->parameters()) out.push_back(p);
  return out;
}

TEST(ParallelOps, TrainingStepsGiveTheSameBitsAndBlocksAtEveryThreadCount) {
  for (const std::string model : {"mlp", "cnn", "gpt-tiny", "llama-tiny"}) {
    Outcome want;
    for (int threads : kThreadCounts) {
      const PoolSize scope(threads);
      if (threads == 1) {
        want = record([&] { return train_two_steps(model); });
      } else {
        expect_same(record([&] { return train_two_steps(model); }), want,
                    model + " at " + std::to_string(threads));
      }
    }
  }
}

// With OpenBLAS's count changed too, GEMM bits may change (see PoolSize), blocks may not.
TEST(ParallelOps, TrainingStepsRequestTheSameBlocksAtEveryThreadCountOfBothPools) {
  for (const std::string model : {"mlp", "cnn", "gpt-tiny", "llama-tiny"}) {
    Outcome want;
    for (int threads : kThreadCounts) {
      const ThreadCount scope(threads);
      const Outcome got = record([&] { return train_two_steps(model); });
      if (threads == 1) {
        want = got;
      } else {
        EXPECT_EQ(got.events, want.events) << model << " at " << threads;
      }
    }
  }
}

}  // namespace
}  // namespace tally
