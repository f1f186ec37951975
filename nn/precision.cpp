#include "nn/precision.h"

#include <array>
#include <utility>

#include "allocator/error.h"

namespace tally::nn {
namespace {

// In the enum's order, so that a precision indexes its name.
constexpr std::array<std::pair<Precision, std::string_view>, 5> kNames{{
    {Precision::fp32, "fp32"},
    {Precision::amp_fp16, "amp-fp16"},
    {Precision::amp_bf16, "amp-bf16"},
    {Precision::fp16, "fp16"},
    {Precision::bf16, "bf16"},
}};

}  // namespace

std::vector<std::string> precision_names() {
  std::vector<std::string> names;
  for (const auto& [precision, name] : kNames) names.emplace_back(name);
  return names;
}

std::string_view precision_name(Precision precision) {
  return kNames[static_cast<std::size_t>(precision)].second;
}

Precision parse_precision(std::string_view name) {
  for (const auto& [precision, known] : kNames) {
    if (known == name) return precision;
  }
  throw UsageError("unknown precision '" + std::string(name) +
                   "' (expected fp32, amp-fp16, amp-bf16, fp16 or bf16)");
}

DType compute_dtype(Precision precision) {
  switch (precision) {
    case Precision::amp_fp16:
    case Precision::fp16:
      return DType::f16;
    case Precision::amp_bf16:
    case Precision::bf16:
      return DType::bf16;
    case Precision::fp32:
      break;
  }
  return DType::f32;
}

bool is_autocast(Precision precision) {
  return precision == Precision::amp_fp16 || precision == Precision::amp_bf16;
}

bool keeps_master_weights(Precision precision) {
  return precision == Precision::fp16 || precision == Precision::bf16;
}

bool scales_loss(Precision precision) {
  return precision == Precision::amp_fp16 || precision == Precision::fp16;
}

std::string_view bytes_per_parameter_note(Precision precision) {
  switch (precision) {
    case Precision::amp_fp16:
    case Precision::amp_bf16:
      return "autocast keeps parameters, gradients and optimizer state in f32 (4 B each) and "
             "casts each weight to 16 bits (2 B) at its first use in a forward pass; the copies "
             "are cached until the forward pass ends, and the ones backward needs live until it "
             "has used them (cast_cache, measured at its peak)";
    case Precision::fp16:
    case Precision::bf16:
      return "16-bit parameters and gradients (2 B each); the optimizer holds an f32 master copy "
             "of every parameter (4 B) beside its f32 state, updates it and writes it back in 16 "
             "bits";
    case Precision::fp32:
      break;
  }
  return "parameters, gradients and optimizer state in f32 (4 B each)";
}

}  // namespace tally::nn
