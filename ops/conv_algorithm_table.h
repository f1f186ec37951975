// The file that carries cuDNN's convolution choices (conv_algorithm_log()) from a cuda run to the
// sim runs that take their workspaces from it (ops/sim_libraries.h). CSV: a version line, the
// header (kConvAlgorithmsHeader, wrapped here), then one problem a line:
//
//   # tally conv algorithms v1
//   pass,device,dtype,input,weight,stride,padding,tf32,workspace_limit,algorithm,math_type,
//     workspace_bytes
//   forward,0,f16,32x3x224x224,64x3x7x7,2,3,false,67108864,1,1,1769472
//
// Shapes are written NxCxHxW and OxCxKHxKW; algorithm and math_type are cuDNN's enum values.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ops/cuda_libraries.h"

namespace tally::ops {

inline constexpr std::string_view kConvAlgorithmsVersionLine = "# tally conv algorithms v1";
inline constexpr std::string_view kConvAlgorithmsHeader =
    "pass,device,dtype,input,weight,stride,padding,tf32,workspace_limit,algorithm,math_type,"
    "workspace_bytes";

// The inverse of conv_pass_name(); nullopt for any other name.
std::optional<ConvPass> parse_conv_pass(std::string_view name);

void write_conv_algorithms(const std::vector<ConvAlgoRecord>& records, std::ostream& out);
void write_conv_algorithms(const std::vector<ConvAlgoRecord>& records, const std::string& path);

// Throws tally::Error "<source>:<line>: <problem>" for a malformed file, including one that
// states the same problem twice, since a sim run could not tell which choice to take.
std::vector<ConvAlgoRecord> read_conv_algorithms(std::istream& in, std::string_view source);
std::vector<ConvAlgoRecord> read_conv_algorithms(const std::string& path);

}  // namespace tally::ops
