// The MPI backend at the world size mpirun gives (ctest runs 2 and 4 ranks). Every rank runs
// every case in the same order, since each case's collectives must meet their peers'.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "allocator/error.h"
#include "core/device_registry.h"
#include "core/tensor.h"
#include "distributed/mpi_process_group.h"
#include "distributed/world.h"
#include "tests/distributed/expect_usage_error.h"

namespace tally::dist {
namespace {

constexpr std::chrono::seconds kTimeout{20};

Tensor values(const std::vector<float>& v, DType dtype = DType::f32) {
  return Tensor::from_values(v, {static_cast<std::int64_t>(v.size())}, dtype);
}

// 0 + 1 + ... + (size - 1): what every rank's own index sums to.
double rank_sum(const ProcessGroup& g) {
  return g.size() * (g.size() - 1) / 2.0;
}

class MpiGroup : public ::testing::Test {
 protected:
  MpiProcessGroup group{kTimeout};
  const int rank = group.rank();
  const int size = group.size();
};

TEST_F(MpiGroup, IsTheLaunchersWorld) {
  const auto place = launched_world();
  ASSERT_TRUE(place.has_value());
  EXPECT_EQ(place->rank, rank);
  EXPECT_EQ(place->size, size);
  EXPECT_EQ(group.local_rank(), rank);  // one machine
  EXPECT_EQ(world_group(Device::cpu(), kTimeout)->backend(), "mpi");
  EXPECT_EQ(world_group(Device::cpu(), kTimeout)->size(), size);
}

// Rank r holds 10 r + i: the sum is 10 S + size i, the average 10 S / size + i.
TEST_F(MpiGroup, AllReduceF32) {
  const Tensor sum = values({10.f * rank, 10.f * rank + 1, 10.f * rank + 2});
  const Tensor avg = values({10.f * rank, 10.f * rank + 1, 10.f * rank + 2});
  group.all_reduce(sum, ReduceOp::sum)->wait();
  group.all_reduce(avg, ReduceOp::average)->wait();
  const double s = rank_sum(group);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(sum.to_floats()[i], static_cast<float>(10 * s + size * i)) << i;
    EXPECT_EQ(avg.to_floats()[i], static_cast<float>(10 * s / size + i)) << i;
  }
}

// Rank r holds r + i / 2, exact in both 16-bit formats, as are its sums and averages here.
TEST_F(MpiGroup, AllReduce16BitSumsInFloat) {
  for (DType dtype : {DType::f16, DType::bf16}) {
    const Tensor sum = values({rank + 0.f, rank + 0.5f, rank + 1.f, rank + 1.5f}, dtype);
    const Tensor avg = values({rank + 0.f, rank + 0.5f, rank + 1.f, rank + 1.5f}, dtype);
    group.all_reduce(sum, ReduceOp::sum)->wait();
    group.all_reduce(avg, ReduceOp::average)->wait();
    const double s = rank_sum(group);
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(sum.to_floats()[i], static_cast<float>(s + size * 0.5 * i)) << dtype_name(dtype);
      EXPECT_EQ(avg.to_floats()[i], static_cast<float>(s / size + 0.5 * i)) << dtype_name(dtype);
    }
  }
}

// Values beyond float's 24 bits, so that nothing passes through float; average truncates.
TEST_F(MpiGroup, AllReduceI64) {
  constexpr std::int64_t big = std::int64_t{1} << 40;
  const Tensor sum = Tensor::empty({2}, DType::i64);
  const Tensor avg = Tensor::empty({2}, DType::i64);
  for (const Tensor& t : {sum, avg}) {
    t.data<std::int64_t>()[0] = big * rank + 1;
    t.data<std::int64_t>()[1] = -3 * rank;
  }
  group.all_reduce(sum, ReduceOp::sum)->wait();
  group.all_reduce(avg, ReduceOp::average)->wait();
  const auto s = static_cast<std::int64_t>(rank_sum(group));
  EXPECT_EQ(sum.data<std::int64_t>()[0], big * s + size);
  EXPECT_EQ(sum.data<std::int64_t>()[1], -3 * s);
  EXPECT_EQ(avg.data<std::int64_t>()[0], (big * s + size) / size);
  EXPECT_EQ(avg.data<std::int64_t>()[1], -3 * s / size);  // -1 at 2 ranks (-1.5), -4 at 4 (-4.5)
}

// Rank r holds 10 r + j at element j of 2 size elements; afterwards its chunk r (elements 2r
// and 2r + 1) holds the sum over ranks, 10 S + size j, or the average, 10 S / size + j (exact in
// bf16 too).
TEST_F(MpiGroup, ReduceScatterLeavesTheResultInChunkRank) {
  for (DType dtype : {DType::f32, DType::bf16}) {
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::average}) {
      std::vector<float> v;
      for (int j = 0; j < 2 * size; ++j) v.push_back(10.f * rank + j);
      const Tensor buffer = values(v, dtype);
      group.reduce_scatter(buffer, op)->wait();
      const std::vector<float> out = buffer.to_floats();
      const double s = rank_sum(group);
      for (int j = 2 * rank; j < 2 * rank + 2; ++j) {
        const double expected = op == ReduceOp::sum ? 10 * s + size * j : 10 * s / size + j;
        EXPECT_EQ(out[j], static_cast<float>(expected)) << dtype_name(dtype) << " element " << j;
      }
    }
  }
}

// Rank r fills only its chunk, with 10 r + k; afterwards every chunk q holds 10 q + k.
TEST_F(MpiGroup, AllGatherFillsEveryChunk) {
  std::vector<float> v(3 * size, -1.f);
  for (int k = 0; k < 3; ++k) v[3 * rank + k] = 10.f * rank + k;
  const Tensor buffer = values(v);
  group.all_gather(buffer)->wait();
  const std::vector<float> out = buffer.to_floats();
  for (int q = 0; q < size; ++q) {
    for (int k = 0; k < 3; ++k) EXPECT_EQ(out[3 * q + k], 10.f * q + k) << q << ", " << k;
  }
}

TEST_F(MpiGroup, BroadcastFromTheLastRank) {
  const int root = size - 1;
  const Tensor t = rank == root ? values({7, 8, 9}, DType::f16) : values({0, 0, 0}, DType::f16);
  group.broadcast(t, root);
  EXPECT_EQ(t.to_floats(), (std::vector<float>{7, 8, 9}));
  expect_usage_error([&] { group.broadcast(t, size); });
}

TEST_F(MpiGroup, SumOnHostAndBarrier) {
  group.barrier();
  EXPECT_EQ(group.sum_on_host({static_cast<double>(rank), 1, 0.25}),
            (std::vector<double>{rank_sum(group), static_cast<double>(size), 0.25 * size}));
}

// Issued back to back, waited in order; the second waits its turn on the MPI thread.
TEST_F(MpiGroup, CollectivesRunInIssueOrder) {
  const Tensor a = values({1.f * rank, 1});
  const Tensor b = Tensor::from_values(std::vector<float>(2 * size, 0.f), {2 * size});
  b.data<float>()[2 * rank] = 5.f * rank;
  b.data<float>()[2 * rank + 1] = 1;
  auto first = group.all_reduce(a, ReduceOp::sum);
  auto second = group.all_gather(b);
  auto third = group.all_reduce(a, ReduceOp::average);
  first->wait();
  second->wait();
  third->wait();
  const double s = rank_sum(group);
  EXPECT_EQ(a.to_floats(), (std::vector<float>{static_cast<float>(s), static_cast<float>(size)}));
  for (int q = 0; q < size; ++q) {
    EXPECT_EQ(b.to_floats()[2 * q], 5.f * q);
    EXPECT_EQ(b.to_floats()[2 * q + 1], 1.f);
  }
  first->wait();  // a second wait returns at once
}

// Rank 1 posts its part only after sleeping past the others' timeout: their first wait fails,
// naming the collective; a later wait sees it finish.
TEST_F(MpiGroup, AWaitPastTheTimeoutThrows) {
  constexpr std::chrono::milliseconds timeout{300};
  MpiProcessGroup quick(timeout);
  const Tensor t = values({1.f + rank});
  if (rank == 1) std::this_thread::sleep_for(3 * timeout);
  auto work = quick.all_reduce(t, ReduceOp::sum);
  int timeouts = 0;
  for (int tries = 0; tries < 50; ++tries) {
    try {
      work->wait();
      break;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::device);
      const std::string message = e.what();
      EXPECT_NE(message.find("all_reduce of f32[1] on cpu"), std::string::npos) << message;
      EXPECT_NE(message.find("timed out after 300 ms"), std::string::npos) << message;
      ++timeouts;
    }
  }
  if (rank == 0) {
    EXPECT_GE(timeouts, 1);
  }
  if (rank == 1) {
    EXPECT_EQ(timeouts, 0);
  }
  EXPECT_EQ(t.to_floats()[0], static_cast<float>(rank_sum(group) + size));
}

TEST_F(MpiGroup, UsageErrorsBeforeAnythingIsSent) {
  const Tensor matrix = Tensor::from_values(std::vector<float>(6, 1.f), {2, 3});
  expect_usage_error([&] { group.all_reduce(matrix.transpose(0, 1), ReduceOp::sum); });
  const Tensor sim = Tensor::empty({4}, DType::f32, Device::sim(SimTarget::cpu));
  expect_usage_error([&] { group.all_reduce(sim, ReduceOp::sum); });
  const Tensor odd = Tensor::empty({2 * size + 1}, DType::f32);
  expect_usage_error([&] { group.reduce_scatter(odd, ReduceOp::sum); });
  expect_usage_error([&] { group.all_gather(odd); });
  expect_usage_error([&] { group.all_reduce(Tensor::empty({2}, DType::u8), ReduceOp::sum); });
}

// In place, with nothing from tally's allocator: the cpu allocator's counts do not move.
TEST_F(MpiGroup, CollectivesAllocateNothing) {
  const Tensor t = values({1, 2, 3, 4, 5, 6, 7, 8}, DType::f16);
  const Tensor buffer = Tensor::empty({4 * size}, DType::f32);
  const auto before = device_allocator(Device::cpu())->stats();
  group.all_reduce(t, ReduceOp::average)->wait();
  group.reduce_scatter(buffer, ReduceOp::average)->wait();
  group.all_gather(buffer)->wait();
  group.broadcast(t, 0);
  group.barrier();
  group.sum_on_host({1, 2});
  const auto after = device_allocator(Device::cpu())->stats();
  EXPECT_EQ(after.total.allocation.allocated, before.total.allocation.allocated);
  EXPECT_EQ(after.total.allocated_bytes.current, before.total.allocated_bytes.current);
  EXPECT_EQ(after.reserved_bytes.current, before.reserved_bytes.current);
}

}  // namespace
}  // namespace tally::dist

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
