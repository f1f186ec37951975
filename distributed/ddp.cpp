#include "distributed/ddp.h"

#include <string>
#include <utility>

#include "allocator/error.h"
#include "allocator/scope.h"
#include "autograd/grad_mode.h"
#include "autograd/variable.h"
#include "core/cuda_context.h"
#include "ops/elementwise.h"

namespace tally::dist {
namespace {

// A parameter's flat view: pieces of it are ranges of this.
Tensor flat(const Tensor& t) {
  return t.view({t.numel()});
}

}  // namespace

DistributedDataParallel::DistributedDataParallel(nn::Module& model,
                                                 std::shared_ptr<ProcessGroup> group,
                                                 DdpOptions options)
    : group_(std::move(group)), options_(options) {
  if (options_.zero_stage != 0 && options_.zero_stage != 1) {
    throw UsageError("ddp: ZeRO stage " + std::to_string(options_.zero_stage) +
                     " is not supported (0 or 1)");
  }
  std::vector<ParameterShape> shapes;
  for (auto& [name, p] : model.named_parameters()) {
    if (!p.is_contiguous()) throw UsageError("ddp: parameter '" + name + "' is not contiguous");
    shapes.push_back({p.dtype(), p.numel()});
    names_.push_back(name);
    parameters_.push_back(p);
  }
  // Every rank starts from rank 0's weights.
  for (const Tensor& p : parameters_) group_->broadcast(p, 0);
  const int chunks = options_.zero_stage == 1 ? group_->size() : 1;
  layouts_ =
      plan_buckets(shapes, options_.first_bucket_cap_bytes, options_.bucket_cap_bytes, chunks);
  if (options_.zero_stage == 1) pieces_ = shard_pieces(layouts_, rank(), world_size());
  bucket_of_.resize(parameters_.size());
  views_.resize(parameters_.size());
  {
    MemoryScope scope("ddp");
    for (std::size_t b = 0; b < layouts_.size(); ++b) {
      const BucketLayout& layout = layouts_[b];
      const Device device = parameters_[layout.slots.front().parameter].device();
      buffers_.push_back(Tensor::empty({layout.numel}, layout.dtype, device, Tag::communication));
      for (const BucketSlot& s : layout.slots) {
        bucket_of_[s.parameter] = b;
        views_[s.parameter] = buffers_.back()
                                  .slice(0, s.offset, s.offset + s.numel)
                                  .view(parameters_[s.parameter].shape());
      }
    }
  }
  accumulated_.assign(parameters_.size(), false);
  ready_.assign(parameters_.size(), false);
  pending_.resize(layouts_.size());
  for (std::size_t b = 0; b < layouts_.size(); ++b) pending_[b] = layouts_[b].slots.size();
  works_.resize(layouts_.size());
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    set_grad_accumulate_hook(parameters_[i], [this, i](Tensor& grad, const Tensor& incoming) {
      on_gradient(i, grad, incoming);
    });
  }
}

DistributedDataParallel::~DistributedDataParallel() {
  for (Tensor& p : parameters_) set_grad_accumulate_hook(p, {});
  // Reductions may still be reading the buckets (after an error in backward).
  for (auto& work : works_) {
    if (!work) continue;
    try {
      work->wait();
    } catch (const Error&) {
      // The error that interrupted the step is the one to report.
    }
  }
  if (!buffers_.empty()) synchronize(buffers_.front().device());
}

void DistributedDataParallel::on_gradient(std::size_t i, Tensor& grad, const Tensor& incoming) {
  if (fresh_) {
    events_.clear();
    fresh_ = false;
  }
  if (!accumulated_[i] || !grad.defined()) {
    copy_into(views_[i], incoming);
  } else {
    ops::axpby_(views_[i], 1.0f, incoming, 1.0f);
  }
  grad = views_[i];
  accumulated_[i] = true;
  if (!sync_) return;
  events_.push_back({DdpEvent::Kind::gradient_ready, i});
  if (ready_[i]) {
    throw UsageError("ddp: parameter '" + names_[i] +
                     "' received a second gradient in one backward; reduce it once per step");
  }
  ready_[i] = true;
  if (--pending_[bucket_of_[i]] == 0 && options_.overlap) start_ready_buckets();
}

void DistributedDataParallel::start_ready_buckets() {
  // In bucket order only, so that every rank issues the same collectives in the same order.
  while (next_to_start_ < layouts_.size() && pending_[next_to_start_] == 0) {
    start(next_to_start_++);
  }
}

void DistributedDataParallel::start(std::size_t b) {
  events_.push_back({DdpEvent::Kind::reduction_started, b});
  works_[b] = options_.zero_stage == 1 ? group_->reduce_scatter(buffers_[b], ReduceOp::average)
                                       : group_->all_reduce(buffers_[b], ReduceOp::average);
}

void DistributedDataParallel::finish_backward() {
  if (!sync_) return;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    if (!ready_[i]) {
      throw UsageError("ddp: parameter '" + names_[i] +
                       "' received no gradient in this backward; every parameter must take part "
                       "in the loss on every rank");
    }
  }
  start_ready_buckets();
  events_.push_back({DdpEvent::Kind::backward_finished, 0});
  for (auto& work : works_) {
    work->wait();
    work.reset();
  }
  next_to_start_ = 0;
  for (std::size_t b = 0; b < layouts_.size(); ++b) pending_[b] = layouts_[b].slots.size();
  ready_.assign(parameters_.size(), false);
  accumulated_.assign(parameters_.size(), false);
  fresh_ = true;
}

void DistributedDataParallel::finish_step() {
  if (options_.zero_stage != 1) return;
  NoGradGuard no_grad;
  for (const ShardPiece& p : pieces_) {
    copy_into(
        buffers_[p.bucket].slice(0, p.bucket_offset, p.bucket_offset + p.numel),
        flat(parameters_[p.parameter]).slice(0, p.parameter_offset, p.parameter_offset + p.numel));
  }
  for (std::size_t b = 0; b < buffers_.size(); ++b) works_[b] = group_->all_gather(buffers_[b]);
  for (auto& work : works_) {
    work->wait();
    work.reset();
  }
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    copy_into(parameters_[i], views_[i]);
    tally::zero_grad(parameters_[i]);
  }
}

std::vector<double> DistributedDataParallel::sum_on_host(std::vector<double> values) {
  return group_->sum_on_host(std::move(values));
}

std::unique_ptr<nn::Optimizer> DistributedDataParallel::sharded_optimizer(
    const nn::TrainOptions& options, const nn::NamedParameters& masters) const {
  if (options_.zero_stage != 1) throw UsageError("ddp: a sharded optimizer needs ZeRO stage 1");
  nn::NamedParameters pieces, master_pieces;
  std::vector<Tensor> gradients;
  for (const ShardPiece& p : pieces_) {
    const std::int64_t a = p.parameter_offset, e = p.parameter_offset + p.numel;
    const std::string& name = names_[p.parameter];
    pieces.emplace_back(name, flat(parameters_[p.parameter]).slice(0, a, e));
    gradients.push_back(buffers_[p.bucket].slice(0, p.bucket_offset, p.bucket_offset + p.numel));
    if (masters.empty()) continue;
    const std::size_t dot = name.rfind('.');
    MemoryScope scope(dot == std::string::npos ? std::string() : name.substr(0, dot));
    Tensor copy =
        Tensor::empty({p.numel}, DType::f32, parameters_[p.parameter].device(), Tag::optimizer);
    copy_into(copy, flat(masters[p.parameter].second).slice(0, a, e));
    master_pieces.emplace_back(name, std::move(copy));
  }
  return nn::make_optimizer(options, std::move(pieces), std::move(master_pieces),
                            std::move(gradients));
}

std::function<std::shared_ptr<nn::DataParallel>(nn::Learner&)> data_parallel(
    std::shared_ptr<ProcessGroup> group, DdpOptions options, nn::TrainOptions train) {
  train.data_parallel = nullptr;
  return [group = std::move(group), options, train](nn::Learner& learner) {
    if (options.zero_stage == 1 && learner.scaler) {
      throw UsageError("ddp: ZeRO-1 with a loss scaler (" +
                       std::string(nn::precision_name(learner.precision)) +
                       ") is not supported: use fp32, amp-bf16 or bf16");
    }
    auto ddp = std::make_shared<DistributedDataParallel>(*learner.model, group, options);
    if (options.zero_stage == 1) {
      learner.optimizer = ddp->sharded_optimizer(train, learner.optimizer->master_weights());
    }
    return std::shared_ptr<nn::DataParallel>(std::move(ddp));
  };
}

}  // namespace tally::dist
