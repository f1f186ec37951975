// The cuDNN choice table reader against 10^5 mutations of tables written by tally's own writer:
// each parses (and then writes and reads back equal) or is rejected with a one-line data error
// naming the file and line. Also the defect the fuzzing found.
#include <gtest/gtest.h>

#include <sstream>

#include "allocator/error.h"
#include "ops/conv_algorithm_table.h"
#include "tests/fuzz/reader_fuzz.h"
#include "tests/fuzz/round_trip.h"

namespace tally::ops {
namespace {

// The table tally writes of `records`, taking a braced list, which csv_of cannot deduce from.
std::string table_of(const std::vector<ConvAlgoRecord>& records) {
  return testing::csv_of(records, write_conv_algorithms);
}

ConvAlgoRecord record(ConvPass pass, DType dtype, Shape input, Shape weight, int algorithm,
                      std::size_t workspace_bytes) {
  ConvAlgoRecord r;
  r.pass = pass;
  r.dtype = dtype;
  r.input = std::move(input);
  r.weight = std::move(weight);
  r.stride = 2;
  r.padding = 3;
  r.tf32 = dtype == DType::f32;
  r.workspace_limit = 64ull << 20;
  r.algorithm = algorithm;
  r.math_type = 1;
  r.workspace_bytes = workspace_bytes;
  return r;
}

std::vector<std::string> seeds() {
  ConvAlgoRecord other_device =
      record(ConvPass::forward, DType::f16, {1, 3, 5, 5}, {2, 3, 1, 1}, 0, 0);
  other_device.device = 3;
  return {
      table_of(
          {record(ConvPass::forward, DType::f16, {32, 3, 224, 224}, {64, 3, 7, 7}, 1, 1769472),
           record(ConvPass::backward_data, DType::f32, {8, 64, 56, 56}, {64, 64, 3, 3}, 5, 4096),
           record(ConvPass::backward_filter, DType::bf16, {8, 64, 56, 56}, {64, 64, 3, 3}, 3,
                  64ull << 20),
           other_device}),
      table_of({}),
  };
}

TEST(ConvAlgorithmTableFuzz, EveryMutatedTableParsesOrIsAOneLineDataError) {
  testing::ReaderFuzz fuzz;
  fuzz.reader = "read_conv_algorithms";
  fuzz.seeds = seeds();
  fuzz.source = "fuzz.csv:";
  testing::fuzz_reader(fuzz, [](const std::string& input) {
    testing::read_and_write_back<std::vector<ConvAlgoRecord>>(
        input, "fuzz.csv", read_conv_algorithms, write_conv_algorithms);
  });
}

std::string message_of(const std::string& line) {
  std::istringstream in(table_of({}) + line);
  try {
    read_conv_algorithms(in, "bad.csv");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::data);
    return e.what();
  }
  return "no error";
}

// The fuzzer's find: a control character in a field went into the message as it was (a NUL cut
// the message short), here in the pass's message and the dtype's.
TEST(ConvAlgorithmTableFuzz, ControlCharactersQuotedFromAFieldAreEscaped) {
  EXPECT_EQ(message_of("forwa\x04"
                       "d,0,f16,1x3x5x5,2x3x1x1,2,3,false,64,0,1,0\n"),
            "bad.csv:3: pass: unknown value 'forwa\\x04d' (expected forward, backward_data or "
            "backward_filter)");
  EXPECT_EQ(
      message_of(std::string("forward,0,f1") + '\0' + "\r,1x3x5x5,2x3x1x1,2,3,false,64,0,1,0\n"),
      "bad.csv:3: dtype: unknown value 'f1\\x00\\x0d'");
}

}  // namespace
}  // namespace tally::ops
