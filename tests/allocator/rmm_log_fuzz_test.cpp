// The RMM log reader, and read_any_trace which tells it from a tally trace, against 10^5
// mutations each of hand-built logs (and, for read_any_trace, traces too): each parses or is
// rejected with a one-line data error naming the file and line. Also the defects fixed with it,
// each as its own case.
#include <gtest/gtest.h>

#include <sstream>

#include "allocator/error.h"
#include "allocator/rmm_log.h"
#include "allocator/trace_csv.h"
#include "tests/fuzz/input_file.h"
#include "tests/fuzz/reader_fuzz.h"
#include "tests/fuzz/round_trip.h"

namespace tally {
namespace {

const std::string kHeader = std::string(kRmmLogHeader) + "\n";

// As logging_resource_adaptor writes them: hex streams, seconds with microseconds, a failure.
const std::string kLog =
    kHeader +
    "140573312345856,1634567890.000000,allocate,0x7f8a40000000,1048576,"
    "0x7f8a38001020\n"
    "140573312345856,1634567890.000250,allocate,0x7f8a40100000,512,0x0\n"
    "140573312345857,1634567890.000500,deallocate,0x7f8a40000000,1048576,"
    "0x7f8a38001020\n"
    "140573312345856,1634567890.000750,allocate failure,0x0,1099511627776,0x0\n"
    "140573312345856,1634567890.001000,deallocate,0x7f8a40100000,512,0x0\n";

// Decimal streams, a time that is not in seconds (read as 0) and a nanosecond fraction.
const std::string kOddLog = kHeader +
                            "1,12:00:01.5,allocate,0x1000,4096,0\n"
                            "1,2.000000001,allocate,0X2000,1,3\n"
                            "2,2.5,deallocate,0x1000,4096,0\n";

std::vector<std::string> log_seeds() {
  return {kLog, kOddLog, kHeader};
}

void read_log(const std::string& input) {
  std::istringstream in(input);
  read_rmm_log(in, "fuzz.csv");
}

TEST(RmmLogFuzz, EveryMutatedLogParsesOrIsAOneLineDataError) {
  testing::ReaderFuzz fuzz;
  fuzz.reader = "read_rmm_log";
  fuzz.seeds = log_seeds();
  fuzz.source = "fuzz.csv:";
  testing::fuzz_reader(fuzz, read_log);
}

std::string crlf(const std::string& text) {
  std::string out;
  for (const char c : text) out += c == '\n' ? std::string("\r\n") : std::string(1, c);
  return out;
}

// The fuzzer's first find: the RMM reader kept each line's \r, so no log saved with Windows line
// ends could be read (its header did not match), neither by read_rmm_log nor read_any_trace.
TEST(RmmLogFuzz, ALogWithCrlfLineEndsReadsAsWithLf) {
  std::istringstream lf(kLog), with_crlf(crlf(kLog));
  const Trace expected = read_rmm_log(lf, "lf.csv");
  ASSERT_EQ(expected.events.size(), 5u);
  EXPECT_EQ(read_rmm_log(with_crlf, "crlf.csv"), expected);

  const testing::InputFile file("tally_crlf_rmm", ".csv");
  file.write(crlf(kLog));
  EXPECT_EQ(read_any_trace(file.path().string()), expected);
}

// Seconds past 2^64 ns wrapped around to a small time; like any time the reader cannot hold,
// they now read as 0.
TEST(RmmLogFuzz, ATimePast64BitNanosecondsReadsAsZero) {
  std::istringstream in(kHeader +
                        "1,0.1,allocate,0x1000,64,0x0\n"
                        "1,18446744073.709551615,allocate,0x2000,64,0x0\n"
                        "1,18446744073.709551616,allocate,0x3000,64,0x0\n"
                        "1,18446744074.000000000,allocate,0x4000,64,0x0\n");
  const Trace trace = read_rmm_log(in, "late.csv");
  ASSERT_EQ(trace.events.size(), 4u);
  EXPECT_EQ(trace.events[1].time_ns, 18446744073709551615u - 100'000'000u);
  EXPECT_EQ(trace.events[2].time_ns, 0u);
  EXPECT_EQ(trace.events[3].time_ns, 0u);
}

TEST(RmmLogFuzz, EveryMutatedFileOfEitherFormatParsesOrIsAOneLineDataError) {
  const testing::InputFile file("tally_any_trace_fuzz", ".csv");
  Trace native{{"cuda:0"}, {Event{}}};
  native.events[0].address = 0x200;
  native.events[0].allocated = 512;
  native.events[0].tag = Tag::other;
  testing::ReaderFuzz fuzz;
  fuzz.reader = "read_any_trace";
  fuzz.seeds = log_seeds();
  fuzz.seeds.push_back(testing::csv_of(native, write_trace_csv));
  fuzz.source = file.path().string() + ":";
  testing::fuzz_reader(fuzz, [&](const std::string& input) {
    file.write(input);
    read_any_trace(file.path().string());
  });
}

}  // namespace
}  // namespace tally
