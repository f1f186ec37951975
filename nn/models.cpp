#include "nn/models.h"

#include "allocator/error.h"
#include "allocator/scope.h"
#include "nn/layers.h"
#include "nn/transformer.h"
#include "nn/transformer_config.h"

namespace tally::nn {
namespace {

// Constructs a layer inside the scope of the path it will have, so that its parameters are
// attributed to it ("layers.1") from their first allocation.
template <typename M, typename... Args>
void append(Sequential& seq, const std::string& path, Args&&... args) {
  MemoryScope scope(path + "." + std::to_string(seq.size()));
  seq.add(std::make_shared<M>(std::forward<Args>(args)...));
}

std::shared_ptr<Module> mlp(Device device) {
  auto layers = std::make_shared<Sequential>();
  append<Flatten>(*layers, "layers");
  append<Linear>(*layers, "layers", 784, 1024, true, device);
  append<ReLU>(*layers, "layers");
  append<Linear>(*layers, "layers", 1024, 1024, true, device);
  append<ReLU>(*layers, "layers");
  append<Linear>(*layers, "layers", 1024, 10, true, device);
  auto model = std::make_shared<Sequential>();
  model->add("layers", layers);
  return model;
}

std::shared_ptr<Module> cnn(Device device) {
  auto features = std::make_shared<Sequential>();
  append<Conv2d>(*features, "features", 1, 32, 3, 1, 0, true, device);
  append<ReLU>(*features, "features");
  append<MaxPool2d>(*features, "features", 2);
  append<Conv2d>(*features, "features", 32, 64, 3, 1, 0, true, device);
  append<ReLU>(*features, "features");
  append<MaxPool2d>(*features, "features", 2);
  auto classifier = std::make_shared<Sequential>();
  append<Flatten>(*classifier, "classifier");
  append<Linear>(*classifier, "classifier", 64 * 5 * 5, 128, true, device);
  append<ReLU>(*classifier, "classifier");
  append<Linear>(*classifier, "classifier", 128, 10, true, device);
  auto model = std::make_shared<Sequential>();
  model->add("features", features).add("classifier", classifier);
  return model;
}

// Deep enough for checkpointing to matter on a CPU: 32 blocks hold 67 M of its 68 M parameters.
std::shared_ptr<Module> deep_mlp(Device device) {
  constexpr std::int64_t kWidth = 1024, kBlocks = 32;
  auto blocks = std::make_shared<Sequential>();
  for (std::int64_t i = 0; i < kBlocks; ++i) {
    append<ResidualBlock>(*blocks, "blocks", kWidth, 0.1f, device);
  }
  auto model = std::make_shared<Sequential>();
  model->add("flatten", std::make_shared<Flatten>());
  {
    MemoryScope scope("stem");
    model->add("stem", std::make_shared<Linear>(784, kWidth, true, device));
  }
  model->add("blocks", blocks);
  MemoryScope scope("head");
  model->add("head", std::make_shared<Linear>(kWidth, 10, true, device));
  return model;
}

}  // namespace

std::vector<std::string> model_names() {
  std::vector<std::string> names = {"mlp", "cnn", "deep-mlp"};
  for (std::string& name : zoo_transformer_names()) names.push_back(std::move(name));
  return names;
}

std::shared_ptr<Module> make_model(std::string_view name, Device device) {
  if (name == "mlp") return mlp(device);
  if (name == "cnn") return cnn(device);
  if (name == "deep-mlp") return deep_mlp(device);
  if (const auto config = zoo_transformer(name)) return make_transformer(*config, device);
  std::string expected;
  for (const std::string& known : model_names()) expected += (expected.empty() ? "" : ", ") + known;
  throw UsageError("unknown model '" + std::string(name) + "' (expected one of " + expected + ")");
}

}  // namespace tally::nn
