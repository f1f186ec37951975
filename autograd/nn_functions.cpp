#include "autograd/nn_functions.h"

#include "autograd/autocast.h"
#include "autograd/variable.h"
#include "ops/concat.h"
#include "ops/dropout.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/layer_norm.h"
#include "ops/loss.h"
#include "ops/op_util.h"
#include "ops/rms_norm.h"
#include "ops/rotary.h"
#include "ops/softmax.h"

namespace tally {
namespace {

using Grads = std::vector<Tensor>;

}  // namespace

Tensor softmax(const Tensor& x_in, std::int64_t dim) {
  const Tensor x = autocast_f32(x_in);
  Tensor y = ops::softmax(x, dim);
  if (needs_grad({&x})) {
    record("softmax", y, {&x}, [sy = save(y), dim](const Tensor& g) {
      return Grads{ops::softmax_backward(g, sy, dim)};
    });
  }
  return y;
}

Tensor log_softmax(const Tensor& x_in, std::int64_t dim) {
  const Tensor x = autocast_f32(x_in);
  Tensor y = ops::log_softmax(x, dim);
  if (needs_grad({&x})) {
    record("log_softmax", y, {&x}, [sy = save(y), dim](const Tensor& g) {
      return Grads{ops::log_softmax_backward(g, sy, dim)};
    });
  }
  return y;
}

Tensor cross_entropy(const Tensor& logits_in, const Tensor& labels) {
  const Tensor logits = autocast_f32(logits_in);
  ops::CrossEntropyResult r = ops::cross_entropy(logits, labels);
  if (needs_grad({&logits})) {
    record("cross_entropy", r.loss, {&logits},
           [log_probs = save(r.log_probs), sl = save(labels)](const Tensor& g) {
             return Grads{ops::cross_entropy_backward(g, log_probs, sl)};
           });
  }
  return r.loss;
}

Tensor mse_loss(const Tensor& input_in, const Tensor& target_in) {
  const Tensor input = autocast_f32(input_in), target = autocast_f32(target_in);
  Tensor y = ops::mse_loss(input, target);
  if (needs_grad({&input, &target})) {
    const bool need_input = requires_grad(input), need_target = requires_grad(target);
    record("mse_loss", y, {&input, &target},
           [si = save(input), st = save(target), need_input, need_target](const Tensor& g) {
             const Tensor gi = ops::mse_loss_backward(g, si, st);
             return Grads{need_input ? gi : Tensor(),
                          need_target ? ops::unary(ops::UnaryOp::neg, gi) : Tensor()};
           });
  }
  return y;
}

Tensor layer_norm(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in, float eps) {
  const Tensor x = autocast_f32(x_in), weight = autocast_f32(weight_in);
  const Tensor bias = autocast_f32(bias_in);
  ops::LayerNormResult r = ops::layer_norm(x, weight, bias, eps);
  if (needs_grad({&x, &weight, &bias})) {
    const bool need_x = requires_grad(x), need_w = weight.defined() && requires_grad(weight);
    const bool need_b = bias.defined() && requires_grad(bias);
    record("layer_norm", r.output, {&x, &weight, &bias},
           [sx = save(x), mean = save(r.mean), rstd = save(r.rstd), sw = save(weight), need_x,
            need_w, need_b](const Tensor& g) {
             ops::LayerNormGrads d =
                 ops::layer_norm_backward(g, sx, mean, rstd, sw, need_x, need_w, need_b);
             return Grads{d.x, d.weight, d.bias};
           });
  }
  return r.output;
}

Tensor rms_norm(const Tensor& x_in, const Tensor& weight_in, float eps) {
  const Tensor x = autocast_f32(x_in), weight = autocast_f32(weight_in);
  ops::RmsNormResult r = ops::rms_norm(x, weight, eps);
  if (needs_grad({&x, &weight})) {
    const bool need_x = requires_grad(x), need_w = weight.defined() && requires_grad(weight);
    record("rms_norm", r.output, {&x, &weight},
           [sx = save(x), rstd = save(r.rstd), sw = save(weight), need_x, need_w](const Tensor& g) {
             ops::RmsNormGrads d = ops::rms_norm_backward(g, sx, rstd, sw, need_x, need_w);
             return Grads{d.x, d.weight};
           });
  }
  return r.output;
}

Tensor rotary_embedding(const Tensor& x, const Tensor& cos, const Tensor& sin) {
  Tensor y = ops::rotary(x, cos, sin);
  if (needs_grad({&x})) {
    record("rotary_embedding", y, {&x}, [sc = save(cos), ss = save(sin)](const Tensor& g) {
      return Grads{ops::rotary(g, sc, ss, true)};
    });
  }
  return y;
}

Tensor embedding(const Tensor& indices, const Tensor& weight) {
  Tensor y = ops::embedding(indices, weight);
  if (needs_grad({&weight})) {
    record("embedding", y, {&weight},
           [si = save(indices), rows = weight.shape()[0]](const Tensor& g) {
             return Grads{ops::embedding_backward(g, si, rows)};
           });
  }
  return y;
}

Tensor dropout(const Tensor& x, float p, bool training) {
  if (!(p >= 0.0f && p < 1.0f)) {
    throw UsageError("dropout: probability " + std::to_string(p) + " is not in [0, 1)");
  }
  if (!training || p == 0.0f) return x;
  ops::DropoutResult r = ops::dropout(x, p);
  if (needs_grad({&x})) {
    record("dropout", r.output, {&x}, [mask = save(r.mask), scale = r.scale](const Tensor& g) {
      return Grads{ops::dropout_backward(g, mask, scale)};
    });
  }
  return r.output;
}

Tensor concat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  Tensor y = ops::concat(tensors, dim);
  std::vector<const Tensor*> inputs;
  bool any = false;
  for (const Tensor& t : tensors) {
    inputs.push_back(&t);
    any = any || needs_grad({&t});
  }
  if (!any) return y;
  dim = y.wrap_dim(dim, "concat");
  std::vector<std::int64_t> sizes;
  for (const Tensor& t : tensors) sizes.push_back(t.shape()[dim]);
  record("concat", y, inputs,
         [sizes, dim](const Tensor& g) { return ops::concat_backward(g, sizes, dim); });
  return y;
}

}  // namespace tally
