// 2-d convolution over NCHW tensors. On cpu by im2col + one GEMM per image (cblas_sgemm), in
// f32; f16/bf16 inputs are widened while they are unfolded and narrowed when results are stored.
// On cuda by cuDNN, whose workspace (tag workspace, at most cudnn_workspace_limit(), the
// algorithm and size logged in conv_algorithm_log()) replaces the column buffer below; operands
// that are not contiguous are copied (temporary) first. See ops/cuda_libraries.h.
//
// On cpu the column buffer (the im2col unfolding of one image) is what memory predictions depend
// on.
// Every conv2d call, and every conv2d_backward call that computes dx or dweight, takes exactly
// one, through the allocator, tagged workspace, allocated after the call's outputs and freed
// before the call returns:
//
//   f32 [C * KH * KW, OH * OW]  =  4 * C * KH * KW * OH * OW bytes, whatever N and the dtype.
//
// It is reused for every image of the batch, so it never grows with N. With f16/bf16 tensors,
// results reach their 16-bit tensors through one more workspace of the same lifetime, one
// image's worth of f32: [O, OH * OW] for a forward, [C, H, W] for a backward computing dx.
// Whole-tensor f32 copies made for BLAS (of weight, of the output gradient, and dweight's f32
// sums, each only when it is not already dense f32) are temporaries with the same lifetime.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace tally::ops {

// The column buffer's shape for this convolution, {C * KH * KW, OH * OW}; fails like conv2d on
// shapes conv2d rejects.
Shape conv2d_column_shape(const Shape& x_shape, const Shape& weight_shape, std::int64_t stride,
                          std::int64_t padding);

// x [N, C, H, W] with weight [O, C, KH, KW] and bias [O] (may be undefined) -> [N, O, OH, OW],
// OH = (H + 2 * padding - KH) / stride + 1 and OW likewise; cross-correlation, as PyTorch.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::int64_t stride = 1,
              std::int64_t padding = 0);

struct Conv2dGrads {
  Tensor x;       // [N, C, H, W]
  Tensor weight;  // [O, C, KH, KW]
  Tensor bias;    // [O]
};
// Gradients of conv2d given the output's gradient [N, O, OH, OW], each only when asked for.
// dx reads weight's values and dweight reads x's; both need both shapes. dbias reads neither,
// so x and weight may be undefined when only dbias is asked for.
Conv2dGrads conv2d_backward(const Tensor& grad, const Tensor& x, const Tensor& weight,
                            std::int64_t stride, std::int64_t padding, bool need_x, bool need_w,
                            bool need_b);

}  // namespace tally::ops
