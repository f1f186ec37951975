// Where a tensor lives: the host ("cpu"), a GPU ("cuda:N") or the data-less simulator ("sim").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tally {

enum class DeviceKind : std::uint8_t { cpu, cuda, sim };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;

  static Device cpu() { return {}; }
  // "cpu", "cuda", "cuda:N" or "sim"; throws a one-line invalid_argument error otherwise.
  static Device parse(std::string_view text);
  std::string str() const;
  bool operator==(const Device&) const = default;
};

}  // namespace tally
