#include "autograd/autocast.h"

#include <unordered_map>
#include <vector>

#include "allocator/error.h"
#include "autograd/functions.h"
#include "autograd/segment_frame.h"
#include "autograd/variable.h"

namespace tally {
namespace {

thread_local std::optional<DType> current_dtype;
// The copies in the order they were made, found by their parameter's storage (a parameter is a
// whole storage, alive while the model is). Clearing frees them in that order, so that a trace is
// the same on every run and device.
struct CastCache {
  std::unordered_map<const Storage*, std::size_t> index;
  std::vector<Tensor> copies;
};
thread_local CastCache cast_cache;

bool is_16_bit(DType dtype) {
  return dtype == DType::f16 || dtype == DType::bf16;
}

}  // namespace

AutocastGuard::AutocastGuard(DType dtype) : previous_(current_dtype) {
  if (!is_16_bit(dtype)) {
    throw UsageError("autocast: dtype must be f16 or bf16, got " + std::string(dtype_name(dtype)));
  }
  current_dtype = dtype;
}

AutocastGuard::~AutocastGuard() {
  current_dtype = previous_;
  if (!previous_) {
    cast_cache.index.clear();
    cast_cache.copies.clear();
  }
}

std::optional<DType> autocast_dtype() {
  return current_dtype;
}

Tensor autocast_lower(const Tensor& x) {
  if (!current_dtype || !x.defined() || !is_floating(x.dtype()) || x.dtype() == *current_dtype) {
    return x;
  }
  if (!(is_leaf(x) && requires_grad(x))) return cast(x, *current_dtype);
  // A copy made inside a checkpointed segment's forward has no tape to its parameter, so it must
  // not be handed to an op outside the segment: it is used once and freed.
  const bool discarding =
      detail::segment_frame && detail::segment_frame->mode == detail::SegmentFrame::Mode::discard;
  if (discarding && !cast_cache.index.contains(x.storage().get())) {
    return cast(x, *current_dtype, Tag::cast_cache);
  }
  const auto [it, inserted] =
      cast_cache.index.try_emplace(x.storage().get(), cast_cache.copies.size());
  if (inserted) cast_cache.copies.push_back(cast(x, *current_dtype, Tag::cast_cache));
  return cast_cache.copies[it->second];
}

Tensor autocast_f32(const Tensor& x) {
  if (!current_dtype || !x.defined() || !is_16_bit(x.dtype())) return x;
  return cast(x, DType::f32);
}

std::size_t autocast_cache_size() {
  return cast_cache.copies.size();
}

}  // namespace tally
