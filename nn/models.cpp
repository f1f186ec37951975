#include "nn/models.h"

#include "allocator/error.h"
#include "allocator/scope.h"
#include "nn/layers.h"

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

}  // namespace

std::vector<std::string> model_names() {
  return {"mlp", "cnn"};
}

std::shared_ptr<Module> make_model(std::string_view name, Device device) {
  if (name == "mlp") return mlp(device);
  if (name == "cnn") return cnn(device);
  throw UsageError("unknown model '" + std::string(name) + "' (expected mlp or cnn)");
}

}  // namespace tally::nn
