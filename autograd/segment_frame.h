// How ops behave inside a checkpointed segment (autograd/checkpoint.h). While its forward runs,
// ops still mark their outputs as needing a gradient but keep nothing for backward: record()
// builds no node and save() keeps no tensor, only the shape and dtype of what it would have kept.
// While the segment is recomputed in backward, ops record as usual and each save() is checked
// against the forward's log, so a recomputation that differs from its forward is an error.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tally::detail {

struct SavedTensorMeta {
  bool defined = false;
  Shape shape;
  DType dtype = DType::f32;
};

struct SegmentFrame {
  enum class Mode { discard, verify };
  Mode mode = Mode::discard;
  std::string segment;                  // its name, for errors
  std::vector<SavedTensorMeta>* saved;  // appended in discard mode, read in verify mode
  std::size_t next = 0;                 // verify: the next entry to compare with
};

// The innermost segment this thread is running, or null.
inline thread_local SegmentFrame* segment_frame = nullptr;

SavedTensorMeta saved_meta(const Tensor& t);
std::string describe(const SavedTensorMeta& meta);

}  // namespace tally::detail
