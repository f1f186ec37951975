// The CSV trace format: a written trace reads back equal, and malformed files are rejected
// with the line and the problem.
#include "allocator/trace_csv.h"

#include <gtest/gtest.h>

#include <sstream>

#include "allocator/error.h"
#include "tests/allocator/figures.h"

namespace tally {
namespace {

Trace recorded_trace() {
  AllocatorConfig config;
  config.record = true;
  DeviceAllocator a(std::make_unique<VirtualBacking>(1 * GiB), config);
  MemoryScope odd("blocks,\"quoted\"");
  Allocation x;
  {
    PhaseGuard phase(Phase::forward);
    x = a.allocate(12345, Tag::temporary, 3);
    a.retag(x, Tag::activation);
  }
  PhaseGuard phase(Phase::recompute);
  const Allocation y = a.allocate(25 * MiB, Tag::workspace);
  a.deallocate(x);
  a.deallocate(y);
  a.empty_cache();
  return a.trace();
}

TEST(TraceCsv, WriteThenReadGivesTheSameTrace) {
  const Trace trace = recorded_trace();
  ASSERT_EQ(trace.events.size(), 9u);
  std::stringstream csv;
  write_trace_csv(trace, csv);
  const Trace back = read_trace_csv(csv, "memory");
  EXPECT_EQ(back, trace);
  EXPECT_EQ(scope_name(back.events[1].scope), "blocks,\"quoted\"");
}

TEST(TraceCsv, StartsWithTheVersionLineAndTheHeader) {
  std::stringstream csv;
  write_trace_csv(recorded_trace(), csv);
  std::string version, header, first;
  std::getline(csv, version);
  std::getline(csv, header);
  std::getline(csv, first);
  EXPECT_EQ(version, "# tally trace v1");
  EXPECT_EQ(
      header,
      "seq,time_ns,action,device,address,requested,allocated,stream,tag,prev_tag,scope,phase");
  EXPECT_TRUE(first.starts_with("0,")) << first;
  EXPECT_NE(first.find(",segment_alloc,sim,0x"), std::string::npos) << first;
  EXPECT_NE(first.find(",2097152,2097152,3,,,\"blocks,\"\"quoted\"\"\",forward"), std::string::npos)
      << first;
}

struct Malformed {
  const char* name;
  std::string text;
  int line;
  const char* problem;
};

const std::string kHead = "# tally trace v1\n" + std::string(kTraceHeader) + "\n";
const std::string kGood = "0,10,alloc,cpu,0x200,100,512,0,temporary,,,forward\n";

void PrintTo(const Malformed& m, std::ostream* out) {
  *out << m.name;
}

class MalformedTrace : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedTrace, IsRejectedWithItsLineNumber) {
  const Malformed& m = GetParam();
  std::istringstream in(m.text);
  try {
    read_trace_csv(in, "bad.csv");
    FAIL() << "accepted: " << m.text;
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_TRUE(what.starts_with("bad.csv:" + std::to_string(m.line) + ": ")) << what;
    EXPECT_NE(what.find(m.problem), std::string::npos) << what;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Files, MalformedTrace,
    ::testing::Values(
        Malformed{"empty", "", 1, "not a tally trace"},
        Malformed{"other_version", "# tally trace v9\n", 1, "not a tally trace"},
        Malformed{"bad_header", "# tally trace v1\nseq,time\n", 2, "expected the header"},
        Malformed{"few_fields", kHead + kGood + "1,11,free,cpu,0x200\n", 4, "expected 12 fields"},
        Malformed{"bad_action",
                  kHead + kGood + "1,11,release,cpu,0x200,100,512,0,temporary,,,none\n", 4,
                  "action: unknown value 'release'"},
        Malformed{"bad_number", kHead + "0,ten,alloc,cpu,0x200,100,512,0,temporary,,,none\n", 3,
                  "time_ns: bad number 'ten'"},
        Malformed{"bad_address", kHead + "0,1,alloc,cpu,200,100,512,0,temporary,,,none\n", 3,
                  "address: expected 0x-prefixed hex"},
        Malformed{"missing_tag", kHead + "0,1,alloc,cpu,0x200,100,512,0,,,,none\n", 3,
                  "tag: missing for a block event"},
        Malformed{"bad_tag", kHead + "0,1,alloc,cpu,0x200,100,512,0,weights,,,none\n", 3,
                  "tag: unknown value 'weights'"},
        Malformed{"retag_without_prev", kHead + "0,1,retag,cpu,0x200,100,512,0,activation,,,none\n",
                  3, "prev_tag: must be given"},
        Malformed{"bad_phase", kHead + "0,1,alloc,cpu,0x200,100,512,0,other,,,training\n", 3,
                  "phase: unknown value 'training'"},
        Malformed{"unterminated_quote",
                  kHead + kGood + "1,1,free,cpu,0x200,100,512,0,other,,\"x,none\n", 4,
                  "unterminated quoted field"},
        Malformed{"seq_backwards", kHead + kGood + kGood, 4, "seq does not increase"},
        Malformed{"allocated_below_requested",
                  kHead + "0,1,alloc,cpu,0x200,1000,512,0,other,,,none\n", 3,
                  "allocated is smaller than requested"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(TraceCsv, MissingFileIsAnError) {
  EXPECT_THROW(read_trace_csv(std::string("/nonexistent/trace.csv")), Error);
}

}  // namespace
}  // namespace tally
