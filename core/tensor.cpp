#include "core/tensor.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <optional>

#include "allocator/error.h"
#include "core/cuda_context.h"
#include "core/strided_loop.h"

namespace tally {

std::string shape_str(std::span<const std::int64_t> shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

std::int64_t shape_numel(std::span<const std::int64_t> shape) {
  return std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
}

Shape contiguous_strides(std::span<const std::int64_t> shape) {
  Shape strides(shape.size());
  std::int64_t stride = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= std::max<std::int64_t>(shape[i], 1);
  }
  return strides;
}

Tensor Tensor::empty(Shape shape, DType dtype, Device device, Tag tag) {
  for (std::int64_t extent : shape) {
    if (extent < 0) throw UsageError("empty: negative size in shape " + shape_str(shape));
  }
  Tensor t;
  const auto bytes = static_cast<std::size_t>(shape_numel(shape)) * dtype_size(dtype);
  t.storage_ = std::make_shared<Storage>(device, bytes, tag);
  t.strides_ = contiguous_strides(shape);
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::from_values(std::span<const float> values, Shape shape, DType dtype, Tag tag) {
  if (shape_numel(shape) != static_cast<std::int64_t>(values.size())) {
    throw UsageError("from_values: " + std::to_string(values.size()) + " values for shape " +
                     shape_str(shape));
  }
  Tensor t = empty(std::move(shape), dtype, Device::cpu(), tag);
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    T* out = t.data<T>();
    for (std::size_t i = 0; i < values.size(); ++i) out[i] = from_float<T>(values[i]);
  });
  return t;
}

std::int64_t Tensor::wrap_dim(std::int64_t d, std::string_view op) const {
  const std::int64_t n = dim();
  if (d < -n || d >= n) {
    throw UsageError(std::string(op) + ": dimension " + std::to_string(d) +
                     " out of range for shape " + shape_str(shape_));
  }
  return d < 0 ? d + n : d;
}

std::int64_t Tensor::size(std::int64_t d) const {
  return shape_[wrap_dim(d, "size")];
}

std::int64_t Tensor::stride(std::int64_t d) const {
  return strides_[wrap_dim(d, "stride")];
}

bool Tensor::is_contiguous() const {
  std::int64_t expected = 1;
  for (std::size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] != 1 && strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined tensor";
  return std::string(dtype_name(dtype_)) + shape_str(shape_) + " on " + device().str();
}

void* Tensor::raw_data() const {
  return static_cast<char*>(storage_->data()) +
         offset_ * static_cast<std::int64_t>(dtype_size(dtype_));
}

void Tensor::check_host_access(DType expected) const {
  if (!defined()) throw UsageError("data: undefined tensor");
  if (device().kind != DeviceKind::cpu)
    throw UsageError("data: " + describe() + " is not on the cpu");
  if (expected != dtype_) {
    throw UsageError("data: " + describe() + " read as " + std::string(dtype_name(expected)));
  }
}

Tensor Tensor::to(Device device) const {
  if (!defined()) throw UsageError("to: undefined tensor");
  if (device == this->device()) return *this;
  Tensor out = empty(shape_, dtype_, device, tag());
  copy_into(out, *this);
  return out;
}

std::vector<float> Tensor::to_floats() const {
  const Tensor dense = to(Device::cpu()).contiguous();
  std::vector<float> out(static_cast<std::size_t>(numel()));
  dispatch_dtype(dtype_, [&](auto zero) {
    using T = decltype(zero);
    const T* in = dense.data<T>();
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = to_float(in[i]);
  });
  return out;
}

float Tensor::item() const {
  if (numel() != 1)
    throw UsageError("item: " + describe() + " has " + std::to_string(numel()) + " elements");
  return to_floats()[0];
}

Tensor Tensor::as_strided(Shape shape, Shape strides, std::int64_t offset) const {
  Tensor t;
  t.storage_ = storage_;
  t.shape_ = std::move(shape);
  t.strides_ = std::move(strides);
  t.offset_ = offset;
  t.dtype_ = dtype_;
  return t;
}

std::optional<Shape> Tensor::view_strides(Shape& shape) const {
  std::int64_t inferred = -1;
  std::int64_t known = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1 && inferred < 0) {
      inferred = static_cast<std::int64_t>(i);
    } else if (shape[i] < 0) {
      throw UsageError("view: invalid shape " + shape_str(shape));
    } else {
      known *= shape[i];
    }
  }
  if (inferred >= 0 && known > 0) shape[inferred] = numel() / known;
  if (shape_numel(shape) != numel()) {
    throw UsageError("view: shape " + shape_str(shape) + " does not match " + describe());
  }
  // An empty tensor addresses no element, so any shape of it is a view (as PyTorch's
  // computeStride): the same strides for the same shape, else contiguous ones.
  if (numel() == 0) return shape == shape_ ? strides_ : contiguous_strides(shape);
  // Each run of new dimensions must map onto a run of old dimensions that is contiguous within
  // itself; this is PyTorch's rule for when a view (rather than a copy) is possible.
  Shape strides(shape.size());
  std::int64_t view_d = static_cast<std::int64_t>(shape.size()) - 1;
  std::int64_t chunk_base_stride = strides_.empty() ? 1 : strides_.back();
  std::int64_t tensor_numel = 1;
  std::int64_t view_numel = 1;
  for (std::int64_t d = dim() - 1; d >= 0; --d) {
    tensor_numel *= shape_[d];
    if (d == 0 || (shape_[d - 1] != 1 && strides_[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = strides_[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  for (; view_d >= 0; --view_d) strides[view_d] = 1;
  return strides;
}

Tensor Tensor::view(Shape shape) const {
  std::optional<Shape> strides = view_strides(shape);
  if (!strides) {
    throw UsageError("view: cannot view " + describe() + " as " + shape_str(shape) +
                     " without a copy; use reshape");
  }
  return as_strided(std::move(shape), std::move(*strides), offset_);
}

// As PyTorch's: a view whenever the layout allows one, a copy only otherwise.
Tensor Tensor::reshape(Shape shape) const {
  if (std::optional<Shape> strides = view_strides(shape)) {
    return as_strided(std::move(shape), std::move(*strides), offset_);
  }
  return contiguous().view(std::move(shape));
}

Tensor Tensor::transpose(std::int64_t d0, std::int64_t d1) const {
  d0 = wrap_dim(d0, "transpose");
  d1 = wrap_dim(d1, "transpose");
  Shape shape = shape_, strides = strides_;
  std::swap(shape[d0], shape[d1]);
  std::swap(strides[d0], strides[d1]);
  return as_strided(std::move(shape), std::move(strides), offset_);
}

Tensor Tensor::permute(std::span<const std::int64_t> dims) const {
  if (static_cast<std::int64_t>(dims.size()) != dim()) {
    throw UsageError("permute: " + shape_str(dims) + " does not name every dimension of " +
                     describe());
  }
  Shape shape(dims.size()), strides(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const std::int64_t d = wrap_dim(dims[i], "permute");
    if (seen[d]) throw UsageError("permute: repeated dimension in " + shape_str(dims));
    seen[d] = true;
    shape[i] = shape_[d];
    strides[i] = strides_[d];
  }
  return as_strided(std::move(shape), std::move(strides), offset_);
}

Tensor Tensor::slice(std::int64_t d, std::int64_t start, std::int64_t end,
                     std::int64_t step) const {
  d = wrap_dim(d, "slice");
  if (step <= 0) throw UsageError("slice: step must be positive");
  const std::int64_t n = shape_[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<std::int64_t>(start, 0, n);
  end = std::clamp<std::int64_t>(end, start, n);
  Shape shape = shape_, strides = strides_;
  shape[d] = (end - start + step - 1) / step;
  strides[d] *= step;
  return as_strided(std::move(shape), std::move(strides), offset_ + start * strides_[d]);
}

Tensor Tensor::expand(Shape shape) const {
  if (shape.size() < shape_.size()) {
    throw UsageError("expand: cannot expand " + describe() + " to " + shape_str(shape));
  }
  const std::size_t lead = shape.size() - shape_.size();
  Shape strides(shape.size(), 0);
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i < lead) continue;
    const std::int64_t own = shape_[i - lead];
    if (shape[i] == -1) shape[i] = own;
    if (own == shape[i]) {
      strides[i] = strides_[i - lead];
    } else if (own != 1) {
      throw UsageError("expand: cannot expand " + describe() + " to " + shape_str(shape));
    }
  }
  return as_strided(std::move(shape), std::move(strides), offset_);
}

Tensor Tensor::unsqueeze(std::int64_t d) const {
  const std::int64_t n = dim() + 1;
  if (d < -n || d >= n)
    throw UsageError("unsqueeze: dimension " + std::to_string(d) + " out of range");
  if (d < 0) d += n;
  Shape shape = shape_, strides = strides_;
  const std::int64_t stride = d < dim() ? strides_[d] * shape_[d] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  return as_strided(std::move(shape), std::move(strides), offset_);
}

Tensor Tensor::squeeze(std::int64_t d) const {
  d = wrap_dim(d, "squeeze");
  if (shape_[d] != 1) return *this;
  Shape shape = shape_, strides = strides_;
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  return as_strided(std::move(shape), std::move(strides), offset_);
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  Tensor out = empty(shape_, dtype_, device(), Tag::temporary);
  copy_into(out, *this);
  return out;
}

Tensor Tensor::detach() const {
  Tensor t = *this;
  t.autograd_.reset();
  return t;
}

void copy_into(const Tensor& dst, const Tensor& src) {
  if (dst.shape() != src.shape() || dst.dtype() != src.dtype()) {
    throw UsageError("copy: cannot copy " + src.describe() + " into " + dst.describe());
  }
  const Device to = dst.device(), from = src.device();
  if (to.kind == DeviceKind::sim || from.kind == DeviceKind::sim) {
    if (to == from) return;
    throw UsageError("copy: copy between " + from.str() + " and " + to.str() + " is not supported");
  }
  if (to != from) {
    // Between devices only dense bytes move: each side is made contiguous on its own device.
    if (dst.numel() == 0) return;
    const Tensor dense_src = src.contiguous();
    const Tensor dense_dst =
        dst.is_contiguous() ? dst : Tensor::empty(dst.shape(), dst.dtype(), to);
    copy_bytes(dense_dst.raw_data(), to, dense_src.raw_data(), from,
               static_cast<std::size_t>(dst.numel()) * dtype_size(dst.dtype()));
    if (!dst.is_contiguous()) copy_into(dst, dense_dst);
    return;
  }
  if (to.kind == DeviceKind::cuda) {
    copy_strided_cuda(dst, src);
    return;
  }
  const auto size = static_cast<std::int64_t>(dtype_size(dst.dtype()));
  auto* out = static_cast<char*>(dst.raw_data());
  const auto* in = static_cast<const char*>(src.raw_data());
  strided_loop<2>(dst.shape(), {dst.strides(), src.strides()},
                  [&](const std::array<std::int64_t, 2>& at, std::int64_t count,
                      const std::array<std::int64_t, 2>& step) {
                    if (step[0] == 1 && step[1] == 1) {
                      std::memcpy(out + at[0] * size, in + at[1] * size, count * size);
                      return;
                    }
                    for (std::int64_t i = 0; i < count; ++i) {
                      std::memcpy(out + (at[0] + i * step[0]) * size,
                                  in + (at[1] + i * step[1]) * size, size);
                    }
                  });
}

}  // namespace tally
