// The arrangements of floating-point precision tally trains in (--precision), and what each one
// keeps: fp32; amp-fp16 and amp-bf16, autocast as torch.autocast (f32 parameters, gradients and
// optimizer state; allow-listed ops run in 16 bits); fp16 and bf16, 16-bit parameters and
// gradients with f32 master weights held by the optimizer (Apex O2, Megatron). The fp16 ones scale
// the loss (GradScaler); bf16 has f32's exponent range and needs no scaling.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace tally::nn {

enum class Precision { fp32, amp_fp16, amp_bf16, fp16, bf16 };

// "fp32", "amp-fp16", "amp-bf16", "fp16", "bf16", in that order.
std::vector<std::string> precision_names();
std::string_view precision_name(Precision precision);
// Throws a one-line usage error naming the accepted values for an unknown name.
Precision parse_precision(std::string_view name);

// The dtype the arrangement computes its allow-listed ops in: f16, bf16, or f32 for fp32.
DType compute_dtype(Precision precision);
// amp-fp16, amp-bf16: parameters stay f32 and ops cast their inputs.
bool is_autocast(Precision precision);
// fp16, bf16: parameters and gradients in 16 bits, f32 master weights in the optimizer.
bool keeps_master_weights(Precision precision);
// amp-fp16, fp16: f16's range needs the loss scaled.
bool scales_loss(Precision precision);

// Where each byte per parameter goes in this arrangement, in a sentence or two for reports.
std::string_view bytes_per_parameter_note(Precision precision);

}  // namespace tally::nn
