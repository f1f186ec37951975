// End-to-end agreement with PyTorch: two small models (an MLP with ReLU and tanh-GELU, a CNN with
// padded convolution, max and average pooling) rebuilt from tally's layers, and the zoo's two
// small transformers (gpt-tiny, llama-tiny) as nn::make_model builds them, are given PyTorch's
// parameters and input and must reproduce PyTorch's cross-entropy loss and the gradient of every
// parameter and (for the image models) of the input. The references come from
// scripts/torch_reference.py, which documents the models and regenerates the files.
//
// Reference format, one file per model (tests/data/torch_reference/<model>.bin): the line
// "tally-torch-reference 1\n", then records to the end of the file. A record is one ASCII header
// line "<name> <dtype> <rank> <dim0> ... <dimN-1>\n" (dtype f32 or i64; rank 0 for a scalar)
// followed by the elements in row-major order as raw little-endian float32 or int64. Names:
// "input", "labels", "loss", each parameter by its PyTorch name, "<parameter>.grad", and
// "input.grad" when the input is f32 (the transformers' input is i64 tokens).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/conv_functions.h"
#include "autograd/engine.h"
#include "autograd/nn_functions.h"
#include "autograd/variable.h"
#include "nn/layers.h"
#include "nn/models.h"
#include "nn/module.h"

namespace tally {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "tally-torch-reference 1";

// Every element must satisfy |actual - expected| <= kRelTol * max(|expected|, floor), where the
// floor is kFloorFraction of the tensor's largest |expected|. The floor exists because a gradient
// entry near zero is a cancelling sum of terms as large as the tensor's largest entries, so float32
// rounding (in PyTorch's reference as much as in tally) leaves an error of a few ulps of those
// terms, not of the entry: against a float64 rerun of the same models, PyTorch's own float32
// gradients are off by up to 3e-7 of the tensor's maximum, with relative errors up to 8e-3 on
// near-zero entries. The resulting absolute allowance, 1e-6 of the maximum, is still far below
// the errors of order 1 that a transposed gradient or a wrong bias gradient produces.
constexpr double kRelTol = 1e-5;
constexpr double kFloorFraction = 0.1;

struct Record {
  std::string dtype;  // "f32" or "i64"
  Shape shape;
  std::vector<float> floats;
  std::vector<std::int64_t> ints;
};
using Reference = std::map<std::string, Record>;

fs::path reference_path(const std::string& model) {
  return fs::path(TALLY_TEST_DATA_DIR) / "torch_reference" / (model + ".bin");
}

::testing::AssertionResult load_reference(const fs::path& path, Reference* out) {
  if constexpr (std::endian::native != std::endian::little) {
    return ::testing::AssertionFailure() << "the reference reader assumes a little-endian host";
  }
  const auto fail = [&path]() { return ::testing::AssertionFailure() << path.string() << ": "; };
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail() << "cannot open (regenerate with /usr/bin/python3 scripts/torch_reference.py)";
  }
  std::string line;
  if (!std::getline(in, line) || line != kMagic) {
    return fail() << "does not start with '" << kMagic << "'";
  }
  while (std::getline(in, line)) {
    std::istringstream header(line);
    std::string name;
    Record record;
    std::int64_t rank = -1;
    header >> name >> record.dtype >> rank;
    if (!header || rank < 0 || (record.dtype != "f32" && record.dtype != "i64")) {
      return fail() << "bad record header '" << line << "'";
    }
    record.shape.resize(rank);
    for (std::int64_t& d : record.shape) header >> d;
    if (!header || std::any_of(record.shape.begin(), record.shape.end(),
                               [](std::int64_t d) { return d < 0; })) {
      return fail() << "bad shape in record header '" << line << "'";
    }
    const std::int64_t numel = shape_numel(record.shape);
    char* bytes;
    std::streamsize size;
    if (record.dtype == "f32") {
      record.floats.resize(numel);
      bytes = reinterpret_cast<char*>(record.floats.data());
      size = numel * static_cast<std::streamsize>(sizeof(float));
    } else {
      record.ints.resize(numel);
      bytes = reinterpret_cast<char*>(record.ints.data());
      size = numel * static_cast<std::streamsize>(sizeof(std::int64_t));
    }
    if (!in.read(bytes, size)) {
      return fail() << "record '" << name << "' is truncated (" << size << " bytes expected)";
    }
    if (!out->emplace(name, std::move(record)).second) {
      return fail() << "record '" << name << "' appears twice";
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult find(const Reference& ref, const std::string& name,
                                std::string_view dtype, const Record** out) {
  const auto it = ref.find(name);
  if (it == ref.end()) return ::testing::AssertionFailure() << "no record '" << name << "'";
  if (it->second.dtype != dtype) {
    return ::testing::AssertionFailure()
           << "record '" << name << "' is " << it->second.dtype << ", expected " << dtype;
  }
  *out = &it->second;
  return ::testing::AssertionSuccess();
}

// Compares with the tolerance above and prints the largest relative error seen, so that a run
// shows how much headroom each tensor has.
::testing::AssertionResult matches(const std::string& name, const Tensor& actual,
                                   const Record& expected) {
  if (!actual.defined()) return ::testing::AssertionFailure() << name << ": no value in tally";
  if (actual.shape() != expected.shape) {
    return ::testing::AssertionFailure() << name << ": tally's shape " << shape_str(actual.shape())
                                         << " differs from PyTorch's " << shape_str(expected.shape);
  }
  const std::vector<float> values = actual.to_floats();
  double largest = 0;
  for (float e : expected.floats) largest = std::max(largest, std::abs(static_cast<double>(e)));
  // 1e-30 keeps an all-zero reference from dividing zero by zero.
  const double floor = std::max(kFloorFraction * largest, 1e-30);
  double worst = 0;
  std::size_t worst_index = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double e = expected.floats[i];
    const double rel = std::abs(values[i] - e) / std::max(std::abs(e), floor);
    // Written so that a NaN from tally counts as the worst error instead of comparing false.
    if (!(rel <= worst)) {
      worst = std::isnan(rel) ? std::numeric_limits<double>::infinity() : rel;
      worst_index = i;
    }
  }
  std::ostringstream line;
  line << "  " << name << " " << shape_str(expected.shape) << ": max relative error "
       << std::setprecision(3) << worst << "\n";
  std::cout << line.str();
  if (worst <= kRelTol) return ::testing::AssertionSuccess();
  std::ostringstream message;
  message << std::setprecision(3) << name << ": relative error " << worst << " exceeds " << kRelTol
          << " at flat index " << worst_index << std::setprecision(9) << " (tally "
          << values[worst_index] << ", PyTorch " << expected.floats[worst_index]
          << ", largest |PyTorch| in the tensor " << largest << ")";
  return ::testing::AssertionFailure() << message.str();
}

Tensor to_tensor(const Record& record) {
  Tensor t = Tensor::empty(record.shape, record.dtype == "f32" ? DType::f32 : DType::i64);
  if (record.dtype == "f32") {
    std::copy(record.floats.begin(), record.floats.end(), t.data<float>());
  } else {
    std::copy(record.ints.begin(), record.ints.end(), t.data<std::int64_t>());
  }
  return t;
}

bool is_parameter_record(const std::string& name) {
  return name != "input" && name != "labels" && name != "loss" && !name.ends_with(".grad");
}

// There is no AvgPool2d layer in nn/; this one is what PyTorch's AvgPool2d(kernel) does.
class AvgPool2d : public nn::Module {
 public:
  explicit AvgPool2d(std::int64_t kernel) : kernel_(kernel) {}
  Tensor forward(const Tensor& x) override { return avg_pool2d(x, kernel_); }
  std::string describe() const override { return "AvgPool2d(" + std::to_string(kernel_) + ")"; }

 private:
  std::int64_t kernel_;
};

std::shared_ptr<nn::Module> mlp() {
  auto layers = std::make_shared<nn::Sequential>();
  layers->add(std::make_shared<nn::Flatten>())
      .add(std::make_shared<nn::Linear>(64, 32))
      .add(std::make_shared<nn::ReLU>())
      .add(std::make_shared<nn::Linear>(32, 16))
      .add(std::make_shared<nn::GELU>())
      .add(std::make_shared<nn::Linear>(16, 10));
  auto model = std::make_shared<nn::Sequential>();
  model->add("layers", layers);
  return model;
}

std::shared_ptr<nn::Module> cnn() {
  auto features = std::make_shared<nn::Sequential>();
  features->add(std::make_shared<nn::Conv2d>(1, 4, 3, 1, 1))
      .add(std::make_shared<nn::ReLU>())
      .add(std::make_shared<nn::MaxPool2d>(2))
      .add(std::make_shared<nn::Conv2d>(4, 6, 3, 1, 0))
      .add(std::make_shared<nn::ReLU>())
      .add(std::make_shared<AvgPool2d>(2));
  auto classifier = std::make_shared<nn::Sequential>();
  classifier->add(std::make_shared<nn::Flatten>()).add(std::make_shared<nn::Linear>(6 * 2 * 2, 10));
  auto model = std::make_shared<nn::Sequential>();
  model->add("features", features).add("classifier", classifier);
  return model;
}

// The parameter names on one side that the other lacks, for a message that says which.
std::string name_mismatch(const Reference& ref, const std::vector<std::string>& tally_names) {
  std::string only_tally, only_file;
  for (const std::string& name : tally_names) {
    if (!ref.contains(name)) only_tally += " " + name;
  }
  for (const auto& [name, record] : ref) {
    if (is_parameter_record(name) &&
        std::find(tally_names.begin(), tally_names.end(), name) == tally_names.end()) {
      only_file += " " + name;
    }
  }
  return "only in tally's model:" + (only_tally.empty() ? " (none)" : only_tally) +
         "; only in the reference file:" + (only_file.empty() ? " (none)" : only_file);
}

void check_against_torch(const std::string& model_name, nn::Module& model) {
  Reference ref;
  ASSERT_TRUE(load_reference(reference_path(model_name), &ref));

  const auto params = model.named_parameters();
  std::vector<std::string> tally_names;
  for (const auto& [name, param] : params) tally_names.push_back(name);
  const auto file_params = std::count_if(
      ref.begin(), ref.end(), [](const auto& r) { return is_parameter_record(r.first); });
  ASSERT_EQ(static_cast<std::size_t>(file_params), params.size())
      << "tally's model and the reference file name different parameters: "
      << name_mismatch(ref, tally_names);
  for (const auto& [name, param] : params) {
    const Record* record;
    ASSERT_TRUE(find(ref, name, "f32", &record))
        << " (tally's parameter names must be PyTorch's): " << name_mismatch(ref, tally_names);
    ASSERT_EQ(param.shape(), record->shape) << name;
    ASSERT_TRUE(param.is_contiguous()) << name;
    std::copy(record->floats.begin(), record->floats.end(), param.data<float>());
  }

  const Record *labels, *loss;
  ASSERT_TRUE(ref.contains("input")) << "no record 'input'";
  const Record& input = ref.at("input");
  ASSERT_TRUE(find(ref, "labels", "i64", &labels));
  ASSERT_TRUE(find(ref, "loss", "f32", &loss));
  // An f32 input (images) has a gradient to compare; i64 tokens have none.
  const bool input_has_grad = input.dtype == "f32";
  Tensor x = to_tensor(input);
  if (input_has_grad) set_requires_grad(x);

  const Tensor tally_loss = cross_entropy(model.forward(x), to_tensor(*labels));
  backward(tally_loss);

  std::cout << model_name << ":\n";
  EXPECT_TRUE(matches("loss", tally_loss, *loss));
  for (const auto& [name, param] : params) {
    const Record* expected;
    ASSERT_TRUE(find(ref, name + ".grad", "f32", &expected));
    EXPECT_TRUE(matches(name + ".grad", grad(param), *expected));
  }
  if (input_has_grad) {
    const Record* input_grad;
    ASSERT_TRUE(find(ref, "input.grad", "f32", &input_grad));
    EXPECT_TRUE(matches("input.grad", grad(x), *input_grad));
  } else {
    EXPECT_FALSE(ref.contains("input.grad")) << "an i64 input cannot have a gradient";
  }
}

TEST(TorchReferenceTest, MlpMatchesPyTorch) {
  check_against_torch("mlp", *mlp());
}

TEST(TorchReferenceTest, CnnMatchesPyTorch) {
  check_against_torch("cnn", *cnn());
}

// The zoo's transformers exactly as tally trains them (make_model on the CPU), every parameter
// overwritten from the file: embeddings with a sequence (16) shorter than the context (64), so
// that unused position rows must get zero gradients; LayerNorm, tanh-GELU and the tied LM head
// for gpt-tiny; RMSNorm, rotary embeddings, grouped-query attention and SwiGLU for llama-tiny.
TEST(TorchReferenceTest, GptTinyMatchesPyTorch) {
  check_against_torch("gpt-tiny", *nn::make_model("gpt-tiny", Device::cpu()));
}

TEST(TorchReferenceTest, LlamaTinyMatchesPyTorch) {
  check_against_torch("llama-tiny", *nn::make_model("llama-tiny", Device::cpu()));
}

TEST(TorchReferenceTest, LoaderReportsMissingAndTruncatedFiles) {
  Reference ref;
  const ::testing::AssertionResult missing = load_reference(reference_path("no_such_model"), &ref);
  EXPECT_FALSE(missing);
  EXPECT_NE(std::string(missing.message()).find("no_such_model.bin: cannot open"),
            std::string::npos)
      << missing.message();

  std::ifstream in(reference_path("cnn"), std::ios::binary);
  ASSERT_TRUE(in) << "missing " << reference_path("cnn");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The process id keeps concurrent runs of the suite from sharing the file.
  const fs::path cut =
      fs::temp_directory_path() / ("tally_torch_reference_" + std::to_string(getpid()) + ".bin");
  std::ofstream(cut, std::ios::binary).write(bytes.data(), bytes.size() - 1);
  const ::testing::AssertionResult truncated = load_reference(cut, &ref);
  fs::remove(cut);
  EXPECT_FALSE(truncated);
  EXPECT_NE(std::string(truncated.message()).find("'input.grad' is truncated"), std::string::npos)
      << truncated.message();
}

}  // namespace
}  // namespace tally
