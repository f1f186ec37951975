#include "nn/data/synthetic.h"

#include <array>

#include "core/philox.h"

namespace tally::data {
namespace {

// Philox streams (the counter's high half) that keep templates, labels and noise apart.
constexpr std::uint64_t kTemplateStream = 1;
constexpr std::uint64_t kSampleStream = 2;
constexpr std::uint64_t kSeed = 0x7a11'5eed;

// 16 random bytes per Philox block, consumed in order.
class PhiloxBytes {
 public:
  PhiloxBytes(std::uint64_t stream, std::uint64_t start) : stream_(stream), counter_(start) {}

  std::uint8_t next() {
    if (used_ == 16) {
      block_ = philox4x32_10(kSeed, counter_++, stream_);
      used_ = 0;
    }
    const int byte = used_++;
    return static_cast<std::uint8_t>(block_.v[byte / 4] >> (8 * (byte % 4)));
  }

 private:
  std::uint64_t stream_;
  std::uint64_t counter_;
  PhiloxBlock block_{};
  int used_ = 16;
};

}  // namespace

Dataset synthetic_fashion_mnist(Split split) {
  std::array<std::array<std::uint8_t, kFashionMnistPixels>, kFashionMnistClasses> templates;
  PhiloxBytes template_bytes(kTemplateStream, 0);
  for (auto& t : templates) {
    for (std::uint8_t& p : t) p = template_bytes.next();
  }
  Dataset d;
  d.n = split == Split::train ? 60000 : 10000;
  d.images.resize(static_cast<std::size_t>(d.n * kFashionMnistPixels));
  d.labels.resize(static_cast<std::size_t>(d.n));
  // The test split starts far past anything the train split draws.
  PhiloxBytes sample_bytes(kSampleStream, split == Split::train ? 0 : std::uint64_t{1} << 40);
  std::uint8_t* pixel = d.images.data();
  for (std::uint8_t& label : d.labels) {
    label = static_cast<std::uint8_t>(sample_bytes.next() % kFashionMnistClasses);
    for (std::uint8_t t : templates[label]) {
      *pixel++ = static_cast<std::uint8_t>((3 * t + sample_bytes.next()) / 4);
    }
  }
  return d;
}

}  // namespace tally::data
