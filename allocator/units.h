// Byte sizes as people write them: "512", "20MiB", "8GiB", "1.5GB".
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tally {

inline constexpr std::size_t KiB = 1024;
inline constexpr std::size_t MiB = 1024 * KiB;
inline constexpr std::size_t GiB = 1024 * MiB;

// Parses a size: decimal digits, an optional fraction, an optional unit (B, KB, MB, GB, TB, KiB,
// MiB, GiB, TiB; case-insensitive). Whole numbers of bytes are exact up to 2^64 - 1; a fraction is
// rounded to the nearest byte. Returns nullopt for anything else: empty, signed ("-1", "+1"),
// "nan", "inf", exponents ("1e3"), unknown units and values of 2^64 bytes or more.
std::optional<std::size_t> parse_size(std::string_view text);

// "512 B", "2.00 MiB", "1.50 GiB": binary units, two decimals above bytes.
std::string format_bytes(std::size_t bytes);

}  // namespace tally
