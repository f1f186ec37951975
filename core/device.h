// Where a tensor lives: the host ("cpu"), a GPU ("cuda:N") or the data-less simulator ("sim"),
// which mimics the memory requests of a target device ("sim:cpu" or "sim:cuda").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tally {

enum class DeviceKind : std::uint8_t { cpu, cuda, sim };

// The device whose memory requests a sim device reproduces, op for op.
enum class SimTarget : std::uint8_t { cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  // cuda: the device's index. sim: the SimTarget, so that sim:cpu and sim:cuda are two devices
  // with an allocator each.
  int index = 0;

  static Device cpu() { return {}; }
  static Device sim(SimTarget target) { return {DeviceKind::sim, static_cast<int>(target)}; }
  // "cpu", "cuda", "cuda:N", "sim:cpu", "sim:cuda" or "sim" (sim:cuda: the question sim answers
  // is how much GPU memory a run needs); throws a one-line invalid_argument error otherwise.
  static Device parse(std::string_view text);
  std::string str() const;
  // The target of a sim device.
  SimTarget sim_target() const { return static_cast<SimTarget>(index); }
  bool operator==(const Device&) const = default;
};

}  // namespace tally
