#include "autograd/conv_functions.h"

#include <vector>

#include "autograd/autocast.h"
#include "autograd/variable.h"
#include "ops/conv2d.h"
#include "ops/pool.h"

namespace tally {
namespace {

using Grads = std::vector<Tensor>;

}  // namespace

Tensor conv2d(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in,
              std::int64_t stride, std::int64_t padding) {
  const Tensor x = autocast_lower(x_in), weight = autocast_lower(weight_in);
  const Tensor bias = autocast_lower(bias_in);
  Tensor y = ops::conv2d(x, weight, bias, stride, padding);
  if (needs_grad({&x, &weight, &bias})) {
    const bool need_x = requires_grad(x), need_w = requires_grad(weight);
    const bool need_b = bias.defined() && requires_grad(bias);
    // dx reads weight and dweight reads x, but each also needs the other's shape, so both are
    // kept whenever either gradient is (PyTorch's convolution node keeps both as well).
    const bool unfold = need_x || need_w;
    const Tensor sx = unfold ? save(x) : Tensor(), sw = unfold ? save(weight) : Tensor();
    record("conv2d", y, {&x, &weight, &bias},
           [sx, sw, stride, padding, need_x, need_w, need_b](const Tensor& g) {
             ops::Conv2dGrads r =
                 ops::conv2d_backward(g, sx, sw, stride, padding, need_x, need_w, need_b);
             return Grads{r.x, r.weight, r.bias};
           });
  }
  return y;
}

Tensor max_pool2d(const Tensor& x, std::int64_t kernel, std::int64_t stride, std::int64_t padding) {
  const bool grad_needed = needs_grad({&x});
  ops::MaxPoolResult r = ops::max_pool2d(x, kernel, stride, padding, grad_needed);
  if (grad_needed) {
    const Tensor indices = save(r.indices);
    record("max_pool2d", r.values, {&x},
           [indices, shape = x.shape(), kernel, stride, padding](const Tensor& g) {
             return Grads{ops::max_pool2d_backward(g, indices, shape, kernel, stride, padding)};
           });
  }
  return r.values;
}

Tensor avg_pool2d(const Tensor& x, std::int64_t kernel, std::int64_t stride, std::int64_t padding) {
  Tensor y = ops::avg_pool2d(x, kernel, stride, padding);
  if (needs_grad({&x})) {
    record("avg_pool2d", y, {&x}, [shape = x.shape(), kernel, stride, padding](const Tensor& g) {
      return Grads{ops::avg_pool2d_backward(g, shape, kernel, stride, padding)};
    });
  }
  return y;
}

}  // namespace tally
