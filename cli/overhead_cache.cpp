#include "cli/overhead_cache.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "allocator/error.h"

namespace tally::cli {
namespace {

namespace fs = std::filesystem;

std::string_view env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

fs::path overhead_file(const DevicePreset& preset) {
  return overhead_cache_dir() / ("overhead-" + std::string(preset.name) + ".json");
}

// UTC, so that the date does not depend on where the measurement ran.
std::string today() {
  const std::chrono::year_month_day day(
      std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()));
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(day.year()),
                static_cast<unsigned>(day.month()), static_cast<unsigned>(day.day()));
  return text;
}

[[noreturn]] void malformed(const fs::path& file, const std::string& problem) {
  throw DataError(file.string() + ": not a measured overhead (" + problem +
                  "); rerun `tally info --device cuda` or delete it");
}

}  // namespace

fs::path overhead_cache_dir() {
  if (const std::string_view dir = env("TALLY_CACHE_DIR"); !dir.empty()) return fs::path(dir);
  if (const std::string_view xdg = env("XDG_CACHE_HOME"); !xdg.empty()) {
    return fs::path(xdg) / "tally";
  }
  if (const std::string_view home = env("HOME"); !home.empty()) {
    return fs::path(home) / ".cache" / "tally";
  }
  throw DataError("no cache directory: set TALLY_CACHE_DIR, XDG_CACHE_HOME or HOME");
}

const DevicePreset* preset_for_gpu(int compute_capability, std::size_t total_bytes) {
  const DevicePreset* best = nullptr;
  std::size_t best_distance = 0;
  for (const DevicePreset& p : device_presets()) {
    if (p.compute_capability != compute_capability) continue;
    const std::size_t distance =
        p.total_bytes > total_bytes ? p.total_bytes - total_bytes : total_bytes - p.total_bytes;
    // distance <= kPresetMatchPercent% of total_bytes, without the rounding of a division.
    if (distance * 100 > total_bytes * kPresetMatchPercent) continue;
    if (!best || distance < best_distance) {
      best = &p;
      best_distance = distance;
    }
  }
  return best;
}

void save_measured_overhead(const DevicePreset& preset, std::size_t bytes,
                            std::string_view gpu_name) {
  const fs::path file = overhead_file(preset);
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) {
    throw DataError("cannot create cache directory '" + file.parent_path().string() +
                    "': " + ec.message());
  }
  const nlohmann::json json{
      {"preset", preset.name}, {"bytes", bytes}, {"gpu_name", gpu_name}, {"date", today()}};
  // Written aside and renamed over the old file, so that an estimate reading it meanwhile sees
  // the old measurement or the new one, never half of one.
  fs::path partial = file;
  partial += ".partial";
  {
    std::ofstream out(partial);
    out << json.dump(2) << '\n';
    out.flush();
    if (!out) throw DataError("cannot write '" + partial.string() + "'");
  }
  fs::rename(partial, file, ec);
  if (ec) {
    throw DataError("cannot write '" + file.string() + "': " + ec.message());
  }
}

std::optional<MeasuredOverhead> measured_overhead(const DevicePreset& preset) {
  // Without a cache directory nothing can have been measured: the preset's constant stands.
  if (env("TALLY_CACHE_DIR").empty() && env("XDG_CACHE_HOME").empty() && env("HOME").empty()) {
    return std::nullopt;
  }
  const fs::path file = overhead_file(preset);
  std::error_code ec;
  const bool exists = fs::exists(file, ec);
  if (ec) throw DataError("cannot read '" + file.string() + "': " + ec.message());
  if (!exists) return std::nullopt;
  std::ifstream in(file);
  if (!in) throw DataError("cannot open '" + file.string() + "'");
  const nlohmann::json json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) malformed(file, "not valid JSON");
  if (!json.is_object()) malformed(file, "not a JSON object");
  const auto preset_name = json.find("preset");
  if (preset_name == json.end() || !preset_name->is_string() ||
      preset_name->get<std::string>() != preset.name) {
    malformed(file, "\"preset\" is not \"" + std::string(preset.name) + "\"");
  }
  const auto bytes = json.find("bytes");
  if (bytes == json.end() || !bytes->is_number_unsigned()) {
    malformed(file, "\"bytes\" is not a byte count");
  }
  // The estimate takes it from the device's total, which it must leave something of.
  if (bytes->get<std::size_t>() >= preset.total_bytes) {
    malformed(file, "\"bytes\" is not less than the device's memory");
  }
  const auto gpu_name = json.find("gpu_name");
  if (gpu_name == json.end() || !gpu_name->is_string()) {
    malformed(file, "\"gpu_name\" is not a string");
  }
  return MeasuredOverhead{bytes->get<std::size_t>(), gpu_name->get<std::string>(), file};
}

}  // namespace tally::cli
