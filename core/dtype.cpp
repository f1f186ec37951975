#include "core/dtype.h"

#include <array>
#include <string>

#include "allocator/error.h"
#include "allocator/printable.h"

namespace tally {
namespace {
constexpr std::array<std::string_view, 6> kNames{"f32", "f16", "bf16", "i32", "i64", "u8"};
constexpr std::array<std::size_t, 6> kSizes{4, 2, 2, 4, 8, 1};
}  // namespace

std::size_t dtype_size(DType dtype) {
  return kSizes[static_cast<std::size_t>(dtype)];
}

std::string_view dtype_name(DType dtype) {
  return kNames[static_cast<std::size_t>(dtype)];
}

std::optional<DType> find_dtype(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<DType>(i);
  }
  return std::nullopt;
}

DType parse_dtype(std::string_view name) {
  if (const std::optional<DType> dtype = find_dtype(name)) return *dtype;
  throw UsageError("unknown dtype '" + printable(name) +
                   "' (expected f32, f16, bf16, i32, i64 or u8)");
}

}  // namespace tally
