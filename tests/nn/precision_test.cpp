// What each --precision arrangement keeps and computes in, and the names the flag takes.
#include <gtest/gtest.h>

#include "allocator/error.h"
#include "nn/precision.h"

namespace tally::nn {
namespace {

TEST(Precision, EachNameParsesToItsArrangementAndBack) {
  const std::vector<std::string> names = {"fp32", "amp-fp16", "amp-bf16", "fp16", "bf16"};
  EXPECT_EQ(precision_names(), names);
  for (const std::string& name : names) EXPECT_EQ(precision_name(parse_precision(name)), name);
}

TEST(Precision, AnUnknownNameIsAOneLineUsageError) {
  try {
    parse_precision("fp8");
    FAIL() << "fp8 was accepted";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(),
                 "unknown precision 'fp8' (expected fp32, amp-fp16, amp-bf16, fp16 or bf16)");
  }
}

TEST(Precision, WhatEachArrangementKeepsAndComputesIn) {
  struct Row {
    Precision precision;
    DType compute;
    bool autocast, master_weights, loss_scaling;
  };
  for (const Row& r : {Row{Precision::fp32, DType::f32, false, false, false},
                       Row{Precision::amp_fp16, DType::f16, true, false, true},
                       Row{Precision::amp_bf16, DType::bf16, true, false, false},
                       Row{Precision::fp16, DType::f16, false, true, true},
                       Row{Precision::bf16, DType::bf16, false, true, false}}) {
    const std::string_view name = precision_name(r.precision);
    EXPECT_EQ(compute_dtype(r.precision), r.compute) << name;
    EXPECT_EQ(is_autocast(r.precision), r.autocast) << name;
    EXPECT_EQ(keeps_master_weights(r.precision), r.master_weights) << name;
    EXPECT_EQ(scales_loss(r.precision), r.loss_scaling) << name;
  }
}

}  // namespace
}  // namespace tally::nn
