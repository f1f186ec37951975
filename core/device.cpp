#include "core/device.h"

#include <charconv>

#include "allocator/error.h"

namespace tally {

Device Device::parse(std::string_view text) {
  if (text == "cpu") return {DeviceKind::cpu, 0};
  if (text == "sim" || text == "sim:cuda") return sim(SimTarget::cuda);
  if (text == "sim:cpu") return sim(SimTarget::cpu);
  if (text == "cuda") return {DeviceKind::cuda, 0};
  if (text.starts_with("cuda:")) {
    const std::string_view digits = text.substr(5);
    int index = -1;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (ec == std::errc() && end == digits.data() + digits.size() && index >= 0) {
      return {DeviceKind::cuda, index};
    }
  }
  throw UsageError("unknown device '" + std::string(text) +
                   "' (expected cpu, cuda, cuda:N, sim:cpu or sim:cuda)");
}

std::string Device::str() const {
  switch (kind) {
    case DeviceKind::cpu:
      return "cpu";
    case DeviceKind::cuda:
      return "cuda:" + std::to_string(index);
    case DeviceKind::sim:
      return sim_target() == SimTarget::cpu ? "sim:cpu" : "sim:cuda";
  }
  return "cpu";
}

}  // namespace tally
