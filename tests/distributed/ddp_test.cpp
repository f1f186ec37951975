// DDP and ZeRO-1 within one process: a world of one on the CPU, whose collectives move nothing,
// must train exactly as no DDP does; the buckets, the gradients' aliasing, the overlap and the
// accumulation rules hold whatever the backend; and one simulated rank of a larger world holds
// the bytes the layout says.
#include <gtest/gtest.h>

#include "allocator/error.h"
#include "autograd/engine.h"
#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "core/device_registry.h"
#include "distributed/ddp.h"
#include "nn/models.h"
#include "ops/elementwise.h"
#include "tests/distributed/ddp_steps.h"

namespace tally::test {
namespace {

using dist::DdpEvent;
using dist::DdpOptions;
using dist::DistributedDataParallel;
using dist::LocalProcessGroup;

std::shared_ptr<dist::ProcessGroup> one_rank() {
  return std::make_shared<LocalProcessGroup>(Device::cpu());
}

// bf16 keeps f32 master weights in the optimizer: ZeRO-1 keeps copies of its pieces.
TEST(Ddp, WorldOfOneTrainsExactlyAsOneProcess) {
  for (const nn::Precision precision : {nn::Precision::fp32, nn::Precision::bf16}) {
    for (const char* optimizer : {"sgd", "adamw"}) {
      for (int zero : {0, 1}) {
        nn::TrainOptions o = ddp_train_options("mlp", optimizer, 16, Device::cpu());
        o.precision = precision;
        DdpOptions ddp;
        ddp.zero_stage = zero;
        const DdpSteps plain = run_ddp_steps(o, 3);
        const DdpSteps parallel = run_ddp_steps(o, 3, one_rank(), ddp);
        const std::string what = std::string(nn::precision_name(precision)) + " " + optimizer +
                                 " zero " + std::to_string(zero);
        EXPECT_EQ(parallel.losses, plain.losses) << what;
        EXPECT_EQ(parallel.parameters, plain.parameters) << what;
      }
    }
  }
}

TEST(Ddp, GradientsAreViewsIntoTheBuckets) {
  nn::Learner learner;
  run_ddp_steps(ddp_train_options("cnn", "sgd", 8, Device::cpu()), 1, one_rank(), {}, &learner);
  auto* ddp = dynamic_cast<DistributedDataParallel*>(learner.parallel.get());
  ASSERT_NE(ddp, nullptr);
  const auto params = learner.model->named_parameters();
  std::size_t seen = 0;
  for (std::size_t b = 0; b < ddp->buckets().size(); ++b) {
    const Tensor& buffer = ddp->bucket_buffers()[b];
    EXPECT_EQ(buffer.tag(), Tag::communication);
    for (const dist::BucketSlot& s : ddp->buckets()[b].slots) {
      const Tensor g = grad(params[s.parameter].second);
      ASSERT_TRUE(g.defined()) << params[s.parameter].first;
      EXPECT_EQ(g.storage(), buffer.storage()) << params[s.parameter].first;
      EXPECT_EQ(g.offset(), s.offset);
      ++seen;
    }
  }
  EXPECT_EQ(seen, params.size());
}

// cnn's parameters in registration order and their elements: features.0 (288 + 32), features.3
// (18432 + 64), classifier.1 (204800 + 128), classifier.3 (1280 + 10); 225034 in all, 900136 B
// in f32, below the first bucket's 1 MiB: one bucket. With a first cap of 4 KiB and a cap of
// 64 KiB, in backward order: classifier.3 (5160 B >= 4 KiB) closes bucket 0, classifier.1
// (819712 B) bucket 1, features.3 (73984 B) bucket 2, and features.0 (1280 B) is left for
// bucket 3.
TEST(Ddp, BucketLayoutFollowsTheCaps) {
  const auto model = nn::make_model("cnn", Device::sim(SimTarget::cpu));
  std::vector<dist::ParameterShape> shapes;
  for (const Tensor& p : model->parameters()) shapes.push_back({p.dtype(), p.numel()});
  const auto one = dist::plan_buckets(shapes, 1 << 20, 25 << 20);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].bytes(), 4 * (288 + 32 + 18432 + 64 + 204800 + 128 + 1280 + 10));
  const auto four = dist::plan_buckets(shapes, 4096, 65536);
  ASSERT_EQ(four.size(), 4u);
  EXPECT_EQ(four[0].bytes(), 5160);
  EXPECT_EQ(four[1].bytes(), 819712);
  EXPECT_EQ(four[2].bytes(), 4 * (64 + 18432));
  EXPECT_EQ(four[3].bytes(), 4 * (32 + 288));
  EXPECT_EQ(four[0].slots[0].parameter, 7u);  // classifier.3.bias first
  EXPECT_EQ(four[3].slots[1].parameter, 0u);  // features.0.weight last
  // Padded for four shards: 225034 + 2 elements.
  EXPECT_EQ(dist::plan_buckets(shapes, 1 << 20, 25 << 20, 4)[0].numel, 225036);
}

TEST(Ddp, EachDtypeFillsItsOwnBuckets) {
  const std::vector<dist::ParameterShape> shapes = {
      {DType::f32, 100}, {DType::bf16, 300}, {DType::f32, 200}, {DType::bf16, 50}};
  const auto buckets = dist::plan_buckets(shapes, 1000, 1000);
  ASSERT_EQ(buckets.size(), 2u);  // neither dtype reaches 1000 B: each closes at the end
  for (const auto& b : buckets) {
    const auto want =
        b.dtype == DType::f32 ? std::vector<std::size_t>{2, 0} : std::vector<std::size_t>{3, 1};
    ASSERT_EQ(b.slots.size(), 2u);
    EXPECT_EQ(b.slots[0].parameter, want[0]);
    EXPECT_EQ(b.slots[1].parameter, want[1]);
  }
  EXPECT_THROW(dist::plan_buckets(shapes, 0, 1000), UsageError);
}

TEST(Ddp, ShardsCoverEveryElementOnce) {
  const std::vector<dist::ParameterShape> shapes = {
      {DType::f32, 7}, {DType::f32, 13}, {DType::f32, 1}, {DType::f32, 40}};
  for (int world : {1, 2, 3, 4}) {
    const auto buckets = dist::plan_buckets(shapes, 40, 100, world);
    std::vector<int> hits(61, 0);
    std::vector<std::int64_t> starts = {0, 7, 20, 21};
    for (int rank = 0; rank < world; ++rank) {
      for (const auto& p : dist::shard_pieces(buckets, rank, world)) {
        const std::int64_t chunk = buckets[p.bucket].numel / world;
        EXPECT_GE(p.bucket_offset, rank * chunk);
        EXPECT_LE(p.bucket_offset + p.numel, (rank + 1) * chunk);
        for (std::int64_t k = 0; k < p.numel; ++k) {
          ++hits[starts[p.parameter] + p.parameter_offset + k];
        }
      }
    }
    for (int h : hits) EXPECT_EQ(h, 1) << "world " << world;
  }
}

// The first bucket (the last layer's 41 KiB, then the next layer's 4 MiB) is reduced while the
// gradients of layers.1 are still to come.
TEST(Ddp, FirstBucketIsReducedBeforeBackwardEnds) {
  nn::Learner learner;
  run_ddp_steps(ddp_train_options("mlp", "sgd", 8, Device::cpu()), 1, one_rank(), {}, &learner);
  const auto& events = dynamic_cast<DistributedDataParallel&>(*learner.parallel).events();
  const auto position = [&](DdpEvent::Kind kind, bool last) {
    std::ptrdiff_t at = -1;
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (events[i].kind == kind && (last || at < 0)) at = static_cast<std::ptrdiff_t>(i);
    }
    return at;
  };
  const auto first_start = position(DdpEvent::Kind::reduction_started, false);
  const auto last_ready = position(DdpEvent::Kind::gradient_ready, true);
  ASSERT_GE(first_start, 0);
  EXPECT_LT(first_start, last_ready);
  EXPECT_EQ(events[first_start].index, 0u);
  EXPECT_EQ(events.back().kind, DdpEvent::Kind::backward_finished);

  DdpOptions off;
  off.overlap = false;
  run_ddp_steps(ddp_train_options("mlp", "sgd", 8, Device::cpu()), 1, one_rank(), off, &learner);
  const auto& late = dynamic_cast<DistributedDataParallel&>(*learner.parallel).events();
  ASSERT_GE(late.size(), 3u);
  EXPECT_EQ(late[late.size() - 3].kind, DdpEvent::Kind::reduction_started);  // 2 buckets, then
  EXPECT_EQ(late.back().kind, DdpEvent::Kind::backward_finished);            // the end
  for (std::size_t i = 0; i + 3 < late.size(); ++i) {
    EXPECT_EQ(late[i].kind, DdpEvent::Kind::gradient_ready);
  }
}

// Two micro-batches under no_sync and one synchronised: the reduced gradient is the sum of the
// three, as one process accumulating them gets.
TEST(Ddp, NoSyncAccumulates) {
  const nn::TrainOptions o = ddp_train_options("mlp", "sgd", 8, Device::cpu());
  const auto gradients_after = [&](bool ddp) {
    manual_seed(3);
    nn::TrainOptions options = o;
    if (ddp) options.data_parallel = dist::data_parallel(one_rank(), {}, options);
    nn::Learner learner = nn::make_learner(options);
    const data::Dataset dataset = data::synthetic_fashion_mnist(data::Split::test);
    data::BatchLoader loader(dataset, nn::train_loader_options(options));
    auto* parallel = dynamic_cast<DistributedDataParallel*>(learner.parallel.get());
    for (int micro = 0; micro < 3; ++micro) {
      std::optional<DistributedDataParallel::NoSync> no_sync;
      if (parallel && micro < 2) no_sync.emplace(*parallel);
      const data::Batch b = loader.next();
      backward(cross_entropy(learner.model->call(b.inputs, ""), b.labels));
      if (parallel) parallel->finish_backward();
    }
    std::vector<std::vector<float>> grads;
    for (const Tensor& p : learner.model->parameters()) grads.push_back(grad(p).to_floats());
    return grads;
  };
  EXPECT_EQ(gradients_after(true), gradients_after(false));
}

TEST(Ddp, ParameterWithoutGradientIsAnError) {
  manual_seed(1);
  auto model = nn::make_model("mlp", Device::cpu());
  DistributedDataParallel ddp(*model, one_rank());
  const auto params = model->parameters();
  Tensor x = Tensor::empty({2, 10}, DType::f32);
  ops::fill_(x, 0.5f);
  // Only the last layer's weight, f32[10, 1024], takes part.
  backward(sum(matmul(x, params[4])));
  try {
    ddp.finish_backward();
    FAIL() << "expected a usage error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("received no gradient"), std::string::npos) << e.what();
  }
}

// One rank of four on sim: the buckets hold every gradient, padded to four chunks, and ZeRO-1's
// AdamW moments cover this rank's chunk alone.
TEST(Ddp, SimulatedRankHoldsItsShard) {
  const Device sim = Device::sim(SimTarget::cpu);
  for (int rank : {0, 3}) {
    AllocatorConfig config;
    config.record = true;
    const auto allocator = configure_device(sim, config);
    DdpOptions ddp;
    ddp.zero_stage = 1;
    nn::Learner learner;
    run_ddp_steps(ddp_train_options("cnn", "adamw", 8, sim), 2,
                  std::make_shared<LocalProcessGroup>(sim, rank, 4), ddp, &learner);
    const AllocatorStats stats = allocator->stats();
    // 225034 elements padded to 225036, one bucket; each rank's chunk is 56259 elements.
    EXPECT_EQ(stats.of(Tag::communication).requested_bytes.current, 4 * 225036);
    EXPECT_EQ(stats.of(Tag::gradient).requested_bytes.current, 0);
    const std::int64_t mine = rank == 3 ? 56259 - 2 : 56259;  // the last chunk holds the padding
    EXPECT_EQ(stats.of(Tag::optimizer).requested_bytes.current, 2 * 4 * mine) << "rank " << rank;
  }
}

// With bf16 parameters the buckets are bf16, and the rank's optimizer holds f32 master pieces
// and two f32 moments for its chunk: 12 B per element of it, where one process holds 12 B per
// parameter.
TEST(Ddp, SimulatedRankShardsMasterWeights) {
  const Device sim = Device::sim(SimTarget::cpu);
  AllocatorConfig config;
  config.record = true;
  const auto allocator = configure_device(sim, config);
  nn::TrainOptions o = ddp_train_options("cnn", "adamw", 8, sim);
  o.precision = nn::Precision::bf16;
  DdpOptions ddp;
  ddp.zero_stage = 1;
  nn::Learner learner;
  run_ddp_steps(o, 2, std::make_shared<LocalProcessGroup>(sim, 1, 4), ddp, &learner);
  const AllocatorStats stats = allocator->stats();
  EXPECT_EQ(stats.of(Tag::communication).requested_bytes.current, 2 * 225036);
  EXPECT_EQ(stats.of(Tag::optimizer).requested_bytes.current, 12 * 56259);
}

}  // namespace
}  // namespace tally::test
