#include "core/generator.h"

namespace tally {

Generator& default_generator() {
  static Generator generator;
  return generator;
}

void manual_seed(std::uint64_t seed) {
  default_generator().set_state({seed, 0});
}

}  // namespace tally
