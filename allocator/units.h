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

// Parses a size with an optional unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB; case-insensitive).
// Returns nullopt for anything else, including negative, empty and overflowing values.
std::optional<std::size_t> parse_size(std::string_view text);

// "512 B", "2.00 MiB", "1.50 GiB": binary units, two decimals above bytes.
std::string format_bytes(std::size_t bytes);

}  // namespace tally
