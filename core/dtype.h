// Element types and the C++ types that hold them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

#include "core/half.h"

namespace tally {

enum class DType : std::uint8_t { f32, f16, bf16, i32, i64, u8 };

std::size_t dtype_size(DType dtype);
std::string_view dtype_name(DType dtype);
// Throws a one-line invalid_argument error for an unknown name.
DType parse_dtype(std::string_view name);
inline bool is_floating(DType dtype) {
  return dtype == DType::f32 || dtype == DType::f16 || dtype == DType::bf16;
}
// The dtype whose dtype_name is `name`, or nullopt: parse_dtype for callers with their own
// message.
std::optional<DType> find_dtype(std::string_view name);

template <typename T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::f32;
};
template <>
struct DTypeOf<Half> {
  static constexpr DType value = DType::f16;
};
template <>
struct DTypeOf<BFloat16> {
  static constexpr DType value = DType::bf16;
};
template <>
struct DTypeOf<std::int32_t> {
  static constexpr DType value = DType::i32;
};
template <>
struct DTypeOf<std::int64_t> {
  static constexpr DType value = DType::i64;
};
template <>
struct DTypeOf<std::uint8_t> {
  static constexpr DType value = DType::u8;
};

// Widening to float and narrowing back, for every element type.
TALLY_HD float to_float(float v) {
  return v;
}
TALLY_HD float to_float(Half v) {
  return half_to_float(v);
}
TALLY_HD float to_float(BFloat16 v) {
  return bf16_to_float(v);
}
TALLY_HD float to_float(std::int32_t v) {
  return static_cast<float>(v);
}
TALLY_HD float to_float(std::int64_t v) {
  return static_cast<float>(v);
}
TALLY_HD float to_float(std::uint8_t v) {
  return static_cast<float>(v);
}

template <typename T>
TALLY_HD T from_float(float v) {
  if constexpr (std::is_same_v<T, Half>) {
    return float_to_half(v);
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return float_to_bf16(v);
  } else {
    return static_cast<T>(v);
  }
}

// Calls f(T{}) with T the C++ type of `dtype`.
template <typename F>
decltype(auto) dispatch_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::f32:
      return f(float{});
    case DType::f16:
      return f(Half{});
    case DType::bf16:
      return f(BFloat16{});
    case DType::i32:
      return f(std::int32_t{});
    case DType::i64:
      return f(std::int64_t{});
    case DType::u8:
      return f(std::uint8_t{});
  }
  return f(float{});
}

}  // namespace tally
