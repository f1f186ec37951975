// The trace reader against 10^5 mutations of traces written by tally's own writer: each parses
// (and then writes and reads back equal) or is rejected with a one-line data error naming the
// file and line. Also the defects fixed with it, each as its own case.
#include <gtest/gtest.h>

#include <sstream>

#include "allocator/error.h"
#include "allocator/trace_csv.h"
#include "tests/allocator/figures.h"
#include "tests/fuzz/reader_fuzz.h"
#include "tests/fuzz/round_trip.h"

namespace tally {
namespace {

// Every action, tags and phases, a quoted scope, two streams, an oom and segment events.
std::string recorded_trace() {
  AllocatorConfig config;
  config.record = true;
  config.limit = 64 * MiB;
  DeviceAllocator a(std::make_unique<VirtualBacking>(1 * GiB), config);
  MemoryScope scope("layers,\"1\"");
  PhaseGuard phase(Phase::backward);
  Allocation x = a.allocate(1000, Tag::temporary);
  a.retag(x, Tag::activation);
  const Allocation y = a.allocate(3 * MiB, Tag::gradient, 7);
  EXPECT_THROW(a.allocate(1 * GiB, Tag::workspace), OutOfMemoryError);
  a.deallocate(x);
  a.deallocate(y);
  a.empty_cache();
  // The clock's times would make the inputs, and so the counts a run prints, differ per run.
  Trace trace = a.trace();
  for (std::size_t i = 0; i < trace.events.size(); ++i) trace.events[i].time_ns = 1000 * i;
  return testing::csv_of(trace, write_trace_csv);
}

std::string two_device_trace() {
  Trace trace;
  trace.devices = {"cuda:0", "cuda:1"};
  Event e;
  e.time_ns = 5;
  e.address = 0x7f0000000000;
  e.requested = 100;
  e.allocated = 512;
  e.tag = Tag::parameter;
  e.phase = Phase::forward;
  trace.events.push_back(e);
  e.seq = 1;
  e.device = 1;
  e.action = Action::free;
  e.phase = Phase::optimizer;
  trace.events.push_back(e);
  return testing::csv_of(trace, write_trace_csv);
}

TEST(TraceCsvFuzz, EveryMutatedTraceParsesOrIsAOneLineDataError) {
  testing::ReaderFuzz fuzz;
  fuzz.reader = "read_trace_csv";
  fuzz.seeds = {recorded_trace(), two_device_trace(), testing::csv_of(Trace{}, write_trace_csv)};
  fuzz.source = "fuzz.csv:";
  testing::fuzz_reader(fuzz, [](const std::string& input) {
    testing::read_and_write_back<Trace>(input, "fuzz.csv", read_trace_csv, write_trace_csv);
  });
}

const std::string kHead = std::string(kTraceVersionLine) + "\n" + std::string(kTraceHeader) + "\n";

std::string message_of(const std::string& text) {
  std::istringstream in(text);
  try {
    read_trace_csv(in, "bad.csv");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::data);
    return e.what();
  }
  return "no error";
}

// The fuzzer's first find: a field quoted into the message carried its NUL and control bytes.
TEST(TraceCsvFuzz, ControlCharactersQuotedFromAFieldAreEscaped) {
  const std::string line = std::string("0,1,oom\x19") + '\0' + "\r1,cpu,0x0,1,1,0,other,,,none\n";
  EXPECT_EQ(message_of(kHead + line), "bad.csv:3: action: unknown value 'oom\\x19\\x00\\x0d1'");
}

// Event::device is a 16-bit index into Trace::devices: a 65537th device name would wrap to 0.
TEST(TraceCsvFuzz, AtMost65536DevicesFitTheDeviceIndex) {
  std::string text = kHead;
  for (int d = 0; d < 65536; ++d) {
    text += std::to_string(d) + ",0,alloc,d" + std::to_string(d) + ",0x0,1,1,0,other,,,none\n";
  }
  std::istringstream in(text);
  const Trace trace = read_trace_csv(in, "many.csv");
  ASSERT_EQ(trace.devices.size(), 65536u);
  EXPECT_EQ(trace.devices.back(), "d65535");
  EXPECT_EQ(trace.events.back().device, 65535);
  EXPECT_EQ(message_of(text + "65536,0,alloc,d65536,0x0,1,1,0,other,,,none\n"),
            "bad.csv:65539: device: more than 65536 devices");
}

}  // namespace
}  // namespace tally
