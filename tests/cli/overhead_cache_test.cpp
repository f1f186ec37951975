// The measured-overhead cache: where it lives, which preset a GPU is, and that what
// `tally info --device cuda` saves is what `tally estimate` reads back.
#include "cli/overhead_cache.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include "allocator/error.h"
#include "allocator/units.h"

namespace tally::cli {
namespace {

namespace fs = std::filesystem;

// Sets or unsets an environment variable for one test and puts the old value back after it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    set(value);
  }
  ~ScopedEnv() { set(old_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  void set(const std::optional<std::string>& value) {
    if (value) {
      setenv(name_, value->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  const char* name_;
  std::optional<std::string> old_;
};

// A fresh cache directory for each test, named by TALLY_CACHE_DIR.
class OverheadCache : public ::testing::Test {
 protected:
  OverheadCache()
      : dir_(fs::path(::testing::TempDir()) /
             (std::string("tally_overhead_") +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        env_("TALLY_CACHE_DIR", dir_.string()) {
    fs::remove_all(dir_);
  }
  ~OverheadCache() override { fs::remove_all(dir_); }

  void write_file(const DevicePreset& preset, const std::string& text) {
    fs::create_directories(dir_);
    std::ofstream(dir_ / ("overhead-" + std::string(preset.name) + ".json")) << text;
  }

  fs::path dir_;
  ScopedEnv env_;
};

TEST(OverheadCacheDir, PrefersTallyCacheDirThenXdgThenHome) {
  ScopedEnv tally("TALLY_CACHE_DIR", "/tmp/tally-cache");
  ScopedEnv xdg("XDG_CACHE_HOME", "/tmp/xdg");
  ScopedEnv home("HOME", "/tmp/home");
  EXPECT_EQ(overhead_cache_dir(), fs::path("/tmp/tally-cache"));
  {
    ScopedEnv empty("TALLY_CACHE_DIR", "");
    EXPECT_EQ(overhead_cache_dir(), fs::path("/tmp/xdg/tally"));
  }
  ScopedEnv no_tally("TALLY_CACHE_DIR", std::nullopt);
  EXPECT_EQ(overhead_cache_dir(), fs::path("/tmp/xdg/tally"));
  {
    ScopedEnv empty("XDG_CACHE_HOME", "");
    EXPECT_EQ(overhead_cache_dir(), fs::path("/tmp/home/.cache/tally"));
  }
  ScopedEnv no_xdg("XDG_CACHE_HOME", std::nullopt);
  EXPECT_EQ(overhead_cache_dir(), fs::path("/tmp/home/.cache/tally"));
  ScopedEnv no_home("HOME", std::nullopt);
  EXPECT_THROW(overhead_cache_dir(), Error);
}

TEST(PresetForGpu, MatchesByComputeCapabilityAndMemory) {
  const DevicePreset* h100 = preset_for_gpu(90, 81009 * MiB);
  ASSERT_NE(h100, nullptr);
  EXPECT_EQ(h100->name, "h100-80gb");
  const DevicePreset* h200 = preset_for_gpu(90, 143155 * MiB);
  ASSERT_NE(h200, nullptr);
  EXPECT_EQ(h200->name, "h200-141gb");
  const DevicePreset* a100 = preset_for_gpu(80, 42298834944 - 3 * MiB);
  ASSERT_NE(a100, nullptr);
  EXPECT_EQ(a100->name, "a100-40gb");
}

// The name of the preset a GPU with this total in GiB matches, or "none".
std::string preset_name(int compute_capability, double gib) {
  const DevicePreset* p = preset_for_gpu(compute_capability, static_cast<std::size_t>(gib * GiB));
  return p ? std::string(p->name) : "none";
}

TEST(PresetForGpu, MatchesWhatOtherDriversReportForTheSameGpu) {
  // Totals the runtime reported for one model under different drivers (docs/estimate.md).
  for (const double gib : {14.56, 14.57, 14.58, 14.75, 14.76}) {
    EXPECT_EQ(preset_name(75, gib), "t4-16gb") << gib;
  }
  for (const double gib : {39.39, 39.50, 39.59})
    EXPECT_EQ(preset_name(80, gib), "a100-40gb") << gib;
  for (const double gib : {79.25, 79.35}) EXPECT_EQ(preset_name(80, gib), "a100-80gb") << gib;
  for (const double gib : {22.03, 22.05, 22.06}) EXPECT_EQ(preset_name(89, gib), "l4-24gb") << gib;
  for (const double gib : {23.61, 23.64, 23.68}) {
    EXPECT_EQ(preset_name(89, gib), "rtx4090-24gb") << gib;
  }
  for (const double gib : {139.72, 139.80, 139.81}) {
    EXPECT_EQ(preset_name(90, gib), "h200-141gb") << gib;
  }
}

TEST(PresetForGpu, AllowsTwoPercentOfTheDevicesMemory) {
  // The h100-80gb preset, 81009 MiB, and GPUs whose totals are p% of their own total below it
  // (81009 / (1 + p/100) MiB) or above it (81009 / (1 - p/100) MiB).
  for (const double p : {1.9, 2.1}) {
    const std::string expected = p < 2 ? "h100-80gb" : "none";
    EXPECT_EQ(preset_name(90, 81009 / (1 + p / 100) / 1024), expected) << p;
    EXPECT_EQ(preset_name(90, 81009 / (1 - p / 100) / 1024), expected) << p;
  }
  // The edges to the byte: 2% of the GPU's own total, on either side.
  const std::size_t preset = 81009 * MiB;
  const std::size_t smallest = preset * 100 / 102 + 1;
  const std::size_t largest = preset * 100 / 98;
  EXPECT_NE(preset_for_gpu(90, smallest), nullptr);
  EXPECT_EQ(preset_for_gpu(90, smallest - 1), nullptr);
  EXPECT_NE(preset_for_gpu(90, largest), nullptr);
  EXPECT_EQ(preset_for_gpu(90, largest + 1), nullptr);
}

TEST(PresetForGpu, KeepsTheL4AndTheRtx4090Apart) {
  // sm_89's presets, 22559 and 24207 MiB, are 7% apart. Each keeps a GPU that reports 1.4% (the
  // spread between drivers) toward the other, and a GPU halfway between them is neither.
  EXPECT_EQ(preset_name(89, 22559 * 1.014 / 1024), "l4-24gb");
  EXPECT_EQ(preset_name(89, 24207 * 0.986 / 1024), "rtx4090-24gb");
  EXPECT_EQ(preset_name(89, (22559 + 24207) / 2.0 / 1024), "none");
}

TEST(PresetForGpu, NeedsTheSameComputeCapability) {
  // The A100 80GB's 81152 MiB is within 2% of the H100's 81009 MiB: only sm_80 tells them apart.
  const DevicePreset* a100 = preset_for_gpu(80, 81009 * MiB);
  ASSERT_NE(a100, nullptr);
  EXPECT_EQ(a100->name, "a100-80gb");
  EXPECT_EQ(preset_for_gpu(89, 81009 * MiB), nullptr);
  EXPECT_EQ(preset_for_gpu(80, 143155 * MiB), nullptr);
  EXPECT_EQ(preset_for_gpu(90, 48 * GiB), nullptr);
}

TEST_F(OverheadCache, NothingSavedReadsAsNothing) {
  EXPECT_EQ(measured_overhead(device_preset("h100-80gb")), std::nullopt);
}

TEST_F(OverheadCache, SavedOverheadReadsBack) {
  const DevicePreset& h100 = device_preset("h100-80gb");
  save_measured_overhead(h100, 574 * MiB + 12345, "NVIDIA H100 80GB HBM3");
  const fs::path file = dir_ / "overhead-h100-80gb.json";
  EXPECT_TRUE(fs::exists(file));
  const std::optional<MeasuredOverhead> back = measured_overhead(h100);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->bytes, 574 * MiB + 12345);
  EXPECT_EQ(back->gpu_name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(back->file, file);
  EXPECT_EQ(measured_overhead(device_preset("h200-141gb")), std::nullopt);
}

TEST_F(OverheadCache, ALaterMeasurementReplacesTheFirst) {
  const DevicePreset& t4 = device_preset("t4-16gb");
  save_measured_overhead(t4, 300 * MiB, "Tesla T4");
  save_measured_overhead(t4, 320 * MiB, "Tesla T4");
  EXPECT_EQ(measured_overhead(t4)->bytes, 320 * MiB);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(OverheadCache, TheFileStatesTheDate) {
  const DevicePreset& l4 = device_preset("l4-24gb");
  save_measured_overhead(l4, 400 * MiB, "NVIDIA L4");
  std::ifstream in(dir_ / "overhead-l4-24gb.json");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"date\": \"20"), std::string::npos) << text;
  EXPECT_NE(text.find("\"preset\": \"l4-24gb\""), std::string::npos) << text;
}

TEST_F(OverheadCache, AMalformedFileIsNamedOnOneLine) {
  const DevicePreset& h100 = device_preset("h100-80gb");
  const std::string file = (dir_ / "overhead-h100-80gb.json").string();
  for (const auto& [text, problem] : std::vector<std::pair<std::string, std::string>>{
           {"{\"preset\": \"h100-80gb\", \"bytes\": 1", "not valid JSON"},
           {"[1, 2]", "not a JSON object"},
           {R"({"preset": "a100-80gb", "bytes": 1, "gpu_name": "x"})", "\"preset\""},
           {R"({"preset": "h100-80gb", "bytes": -5, "gpu_name": "x"})", "\"bytes\""},
           {R"({"preset": "h100-80gb", "bytes": "600MiB", "gpu_name": "x"})", "\"bytes\""},
           {R"({"preset": "h100-80gb", "bytes": 1e30, "gpu_name": "x"})", "\"bytes\""},
           {R"({"preset": "h100-80gb", "bytes": 84944093184, "gpu_name": "x"})", "\"bytes\""},
           {R"({"preset": "h100-80gb", "bytes": 1})", "\"gpu_name\""}}) {
    SCOPED_TRACE(text);
    write_file(h100, text);
    try {
      measured_overhead(h100);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_TRUE(what.starts_with(file + ": ")) << what;
      EXPECT_NE(what.find(problem), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  }
}

}  // namespace
}  // namespace tally::cli
