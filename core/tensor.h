// Tensor: a view (shape, strides, offset, dtype) onto a shared Storage, plus an opaque pointer
// to autograd metadata that only autograd/ defines. Copying a Tensor copies the handle: copies
// share storage and autograd metadata, as in PyTorch.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "allocator/tag.h"
#include "core/device.h"
#include "core/dtype.h"
#include "core/storage.h"

namespace tally {

using Shape = std::vector<std::int64_t>;

struct AutogradMeta;  // defined in autograd/

std::string shape_str(std::span<const std::int64_t> shape);
std::int64_t shape_numel(std::span<const std::int64_t> shape);
Shape contiguous_strides(std::span<const std::int64_t> shape);

class Tensor {
 public:
  Tensor() = default;

  // A new, uninitialised tensor whose storage comes from `device`'s allocator under `tag`.
  static Tensor empty(Shape shape, DType dtype, Device device = Device::cpu(),
                      Tag tag = Tag::temporary);
  // A CPU tensor holding `values` converted to `dtype`.
  static Tensor from_values(std::span<const float> values, Shape shape, DType dtype = DType::f32,
                            Tag tag = Tag::other);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  std::int64_t dim() const { return static_cast<std::int64_t>(shape_.size()); }
  // Size of dimension `d`; negative `d` counts from the end.
  std::int64_t size(std::int64_t d) const;
  std::int64_t stride(std::int64_t d) const;
  std::int64_t numel() const { return shape_numel(shape_); }
  std::int64_t offset() const { return offset_; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_->device(); }
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  Tag tag() const { return storage_->tag(); }
  bool is_contiguous() const;
  // Normalises a possibly negative dimension index, with an error naming `op` when out of range.
  std::int64_t wrap_dim(std::int64_t d, std::string_view op) const;
  std::string describe() const;  // "f32[2, 3] on cpu"

  // Address of the first element. CPU only for typed access.
  void* raw_data() const;
  template <typename T>
  T* data() const {
    check_host_access(DTypeOf<T>::value);
    return static_cast<T*>(raw_data());
  }
  // A copy on `device` with the same shape, dtype and tag (contiguous), or this tensor when it
  // is already there. Copies to the host wait for the data; copies to a cuda device are queued.
  Tensor to(Device device) const;
  // Every element, in row-major order, converted to float; device data is copied to the host.
  std::vector<float> to_floats() const;
  float item() const;

  // Views: share storage, no copy.
  Tensor view(Shape shape) const;  // requires a layout the new shape can be read from
  Tensor transpose(std::int64_t d0, std::int64_t d1) const;
  Tensor permute(std::span<const std::int64_t> dims) const;
  Tensor slice(std::int64_t d, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
  Tensor expand(Shape shape) const;
  Tensor unsqueeze(std::int64_t d) const;
  Tensor squeeze(std::int64_t d) const;
  Tensor as_strided(Shape shape, Shape strides, std::int64_t offset) const;
  // This tensor if contiguous, else a contiguous copy (same device, tag temporary).
  Tensor contiguous() const;
  // A view when the layout allows it, else a contiguous copy.
  Tensor reshape(Shape shape) const;

  const std::shared_ptr<AutogradMeta>& autograd_meta() const { return autograd_; }
  void set_autograd_meta(std::shared_ptr<AutogradMeta> meta) { autograd_ = std::move(meta); }
  // A handle to the same data with no autograd metadata.
  Tensor detach() const;

 private:
  void check_host_access(DType expected) const;
  // The strides that read this tensor as `shape` (its -1 resolved in place), or nullopt when no
  // view can (PyTorch's computeStride). A shape of another element count is a usage error.
  std::optional<Shape> view_strides(Shape& shape) const;

  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;
  std::int64_t offset_ = 0;  // in elements
  DType dtype_ = DType::f32;
  std::shared_ptr<AutogradMeta> autograd_;
};

// Copies `src` into `dst` element by element (same shape and dtype, any strides), within a device
// or between the host and cuda devices. sim copies nothing, and only to sim.
void copy_into(const Tensor& dst, const Tensor& src);

}  // namespace tally
