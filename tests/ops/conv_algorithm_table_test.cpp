// The conv algorithm file: written records read back equal, a hand-written file reads to the
// values it states, and malformed files are rejected with the line and the problem.
#include "ops/conv_algorithm_table.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "allocator/error.h"

namespace tally::ops {
namespace {

ConvAlgoRecord record(ConvPass pass, DType dtype, bool tf32, int algorithm, int math_type,
                      std::size_t workspace_bytes) {
  ConvAlgoRecord r;
  r.pass = pass;
  r.device = pass == ConvPass::backward_filter ? 1 : 0;
  r.dtype = dtype;
  r.input = {8, 32, 28, 28};
  r.weight = {64, 32, 3, 3};
  r.stride = pass == ConvPass::forward ? 1 : 2;
  r.padding = 1;
  r.tf32 = tf32;
  r.workspace_limit = 64ull << 20;
  r.algorithm = algorithm;
  r.math_type = math_type;
  r.workspace_bytes = workspace_bytes;
  return r;
}

std::vector<ConvAlgoRecord> several_records() {
  return {
      record(ConvPass::forward, DType::f32, false, 1, 0, 0),
      record(ConvPass::forward, DType::f32, true, 6, 1, 5u << 20),
      record(ConvPass::backward_data, DType::f16, false, 1, 1, 1769472),
      record(ConvPass::backward_filter, DType::bf16, true, 3, 2, 64ull << 20),
  };
}

void expect_same_records(const std::vector<ConvAlgoRecord>& back,
                         const std::vector<ConvAlgoRecord>& records) {
  ASSERT_EQ(back.size(), records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_TRUE(back[i] == records[i]) << "record " << i;
  }
}

TEST(ConvAlgorithmTable, PassNamesParseBack) {
  for (const ConvPass pass :
       {ConvPass::forward, ConvPass::backward_data, ConvPass::backward_filter}) {
    EXPECT_EQ(parse_conv_pass(conv_pass_name(pass)), pass);
  }
  EXPECT_EQ(parse_conv_pass("backward"), std::nullopt);
}

TEST(ConvAlgorithmTable, WriteThenReadGivesTheSameRecords) {
  const std::vector<ConvAlgoRecord> records = several_records();
  std::stringstream csv;
  write_conv_algorithms(records, csv);
  expect_same_records(read_conv_algorithms(csv, "algos"), records);
}

TEST(ConvAlgorithmTable, WriteThenReadThroughAFile) {
  const std::vector<ConvAlgoRecord> records = several_records();
  const std::string path =
      (std::filesystem::path(::testing::TempDir()) / "conv_algorithms_round_trip.csv").string();
  write_conv_algorithms(records, path);
  expect_same_records(read_conv_algorithms(path), records);
  std::remove(path.c_str());
}

TEST(ConvAlgorithmTable, StartsWithTheVersionLineAndTheHeader) {
  std::stringstream csv;
  write_conv_algorithms(several_records(), csv);
  std::string version, header, first;
  std::getline(csv, version);
  std::getline(csv, header);
  std::getline(csv, first);
  EXPECT_EQ(version, "# tally conv algorithms v1");
  EXPECT_EQ(header,
            "pass,device,dtype,input,weight,stride,padding,tf32,workspace_limit,algorithm,"
            "math_type,workspace_bytes");
  EXPECT_EQ(first, "forward,0,f32,8x32x28x28,64x32x3x3,1,1,false,67108864,1,0,0");
}

TEST(ConvAlgorithmTable, ReadsAHandWrittenFile) {
  std::istringstream in(
      "# tally conv algorithms v1\r\n"
      "pass,device,dtype,input,weight,stride,padding,tf32,workspace_limit,algorithm,math_type,"
      "workspace_bytes\r\n"
      "forward,0,f16,32x3x224x224,64x3x7x7,2,3,false,67108864,1,1,1769472\r\n"
      "\r\n"
      "backward_filter,2,f32,1x16x9x9,16x16x1x1,1,0,true,1048576,0,2,4096\n");
  ConvAlgoRecord a;
  a.pass = ConvPass::forward;
  a.dtype = DType::f16;
  a.input = {32, 3, 224, 224};
  a.weight = {64, 3, 7, 7};
  a.stride = 2;
  a.padding = 3;
  a.workspace_limit = 67108864;
  a.algorithm = 1;
  a.math_type = 1;
  a.workspace_bytes = 1769472;
  ConvAlgoRecord b;
  b.pass = ConvPass::backward_filter;
  b.device = 2;
  b.input = {1, 16, 9, 9};
  b.weight = {16, 16, 1, 1};
  b.tf32 = true;
  b.workspace_limit = 1048576;
  b.algorithm = 0;
  b.math_type = 2;
  b.workspace_bytes = 4096;
  expect_same_records(read_conv_algorithms(in, "hand.csv"), {a, b});
}

TEST(ConvAlgorithmTable, AnEmptyTableReadsBackEmpty) {
  std::stringstream csv;
  write_conv_algorithms({}, csv);
  EXPECT_TRUE(read_conv_algorithms(csv, "empty.csv").empty());
}

TEST(ConvAlgorithmTable, AMissingFileIsNamed) {
  const std::string path = "/nonexistent/tally/conv_algorithms.csv";
  try {
    read_conv_algorithms(path);
    FAIL() << "read a missing file";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

struct Malformed {
  const char* name;
  std::string text;
  int line;
  const char* problem;
};

void PrintTo(const Malformed& m, std::ostream* out) {
  *out << m.name;
}

const std::string kHead =
    "# tally conv algorithms v1\n" + std::string(kConvAlgorithmsHeader) + "\n";
const std::string kGood = "forward,0,f32,1x32x28x28,64x32x3x3,1,1,false,67108864,1,0,4096\n";

class MalformedConvAlgorithms : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedConvAlgorithms, IsRejectedWithItsLineNumber) {
  const Malformed& m = GetParam();
  std::istringstream in(m.text);
  try {
    read_conv_algorithms(in, "bad.csv");
    FAIL() << "accepted: " << m.text;
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_TRUE(what.starts_with("bad.csv:" + std::to_string(m.line) + ": ")) << what;
    EXPECT_NE(what.find(m.problem), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Files, MalformedConvAlgorithms,
    ::testing::Values(
        Malformed{"empty", "", 1, "not a tally conv algorithm table"},
        Malformed{"a_trace", "# tally trace v1\n", 1, "not a tally conv algorithm table"},
        Malformed{"no_header", "# tally conv algorithms v1\n", 2, "expected the header"},
        Malformed{"bad_header", "# tally conv algorithms v1\npass,device\n", 2,
                  "expected the header"},
        Malformed{"few_fields", kHead + kGood + "forward,0,f32\n", 4,
                  "expected 12 fields, found 3"},
        Malformed{"bad_pass",
                  kHead + "backward,0,f32,1x32x28x28,64x32x3x3,1,1,false,67108864,1,0,4096\n", 3,
                  "pass: unknown value 'backward'"},
        Malformed{"bad_dtype",
                  kHead + "forward,0,f64,1x32x28x28,64x32x3x3,1,1,false,67108864,1,0,4096\n", 3,
                  "dtype: unknown value 'f64'"},
        Malformed{"negative_device",
                  kHead + "forward,-1,f32,1x32x28x28,64x32x3x3,1,1,false,67108864,1,0,4096\n", 3,
                  "device: -1 is below 0"},
        Malformed{"three_dims",
                  kHead + "forward,0,f32,32x28x28,64x32x3x3,1,1,false,67108864,1,0,4096\n", 3,
                  "input: bad shape '32x28x28'"},
        Malformed{"zero_dim",
                  kHead + "forward,0,f32,1x32x28x28,64x0x3x3,1,1,false,67108864,1,0,4096\n", 3,
                  "weight: bad shape '64x0x3x3'"},
        Malformed{"trailing_x",
                  kHead + "forward,0,f32,1x32x28x,64x32x3x3,1,1,false,67108864,1,0,4096\n", 3,
                  "input: bad shape '1x32x28x'"},
        Malformed{"zero_stride",
                  kHead + "forward,0,f32,1x32x28x28,64x32x3x3,0,1,false,67108864,1,0,4096\n", 3,
                  "stride: 0 is below 1"},
        Malformed{"bad_padding",
                  kHead + "forward,0,f32,1x32x28x28,64x32x3x3,1,one,false,67108864,1,0,4096\n", 3,
                  "padding: bad number 'one'"},
        Malformed{"bad_tf32",
                  kHead + "forward,0,f32,1x32x28x28,64x32x3x3,1,1,1,67108864,1,0,4096\n", 3,
                  "tf32: expected true or false, got '1'"},
        Malformed{"negative_algorithm",
                  kHead + "forward,0,f32,1x32x28x28,64x32x3x3,1,1,false,67108864,-1,0,4096\n", 3,
                  "algorithm: -1 is below 0"},
        Malformed{"bad_workspace",
                  kHead + "forward,0,f32,1x32x28x28,64x32x3x3,1,1,false,67108864,1,0,4k\n", 3,
                  "workspace_bytes: bad number '4k'"},
        Malformed{"workspace_over_limit",
                  kHead + "forward,0,f32,1x32x28x28,64x32x3x3,1,1,false,1024,1,0,4096\n", 3,
                  "workspace_bytes is larger than workspace_limit"},
        Malformed{
            "repeated_problem",
            kHead + kGood + "\n" + "forward,0,f32,1x32x28x28,64x32x3x3,1,1,false,67108864,2,1,0\n",
            5, "repeats the problem of line 3"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tally::ops
