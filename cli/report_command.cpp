// `tally report TRACE -o FILE [--format html|perfetto]`: the memory breakdown of a recorded (or
// imported) trace as text, and the trace as a self-contained HTML page or a Perfetto trace.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "allocator/peak_analysis.h"
#include "allocator/rmm_log.h"
#include "allocator/units.h"
#include "cli/commands.h"
#include "cli/memory_report.h"
#include "cli/report_html.h"
#include "cli/report_perfetto.h"
#include "cli/report_timeline.h"

namespace tally::cli {
namespace {

constexpr std::size_t kTopBlocks = 5;

struct ReportArgs {
  std::string trace;
  std::string output;
  std::string format;  // empty: perfetto for a .json output, html otherwise
  std::string device;
  std::string title;
};

std::string largest_blocks(const Trace& trace, std::uint16_t device, const PeakSnapshot& peak) {
  if (!peak.found) return "";
  constexpr const char* kRow = "  %-28s %14s  %-13s %-10s %s\n";
  char line[320];
  std::snprintf(line, sizeof line, kRow, "largest blocks at peak", "allocated", "tag", "phase",
                "scope");
  std::string text = std::string("\n") + line;
  const std::vector<LiveBlock> blocks = live_after(trace, device, peak.seq);
  for (std::size_t i = 0; i < blocks.size() && i < kTopBlocks; ++i) {
    const LiveBlock& b = blocks[i];
    const std::string scope = scope_name(b.scope);
    std::snprintf(line, sizeof line, kRow, ("  event " + std::to_string(b.seq)).c_str(),
                  format_bytes(static_cast<std::size_t>(b.allocated)).c_str(),
                  std::string(tag_name(b.tag)).c_str(), std::string(phase_name(b.phase)).c_str(),
                  scope.empty() ? "(no module)" : scope.c_str());
    text += line;
  }
  return text;
}

int run_report(const ReportArgs& args) {
  const Trace trace = read_any_trace(args.trace);
  const std::uint16_t device = find_device(trace, args.device);
  const bool perfetto =
      args.format == "perfetto" ||
      (args.format.empty() && std::filesystem::path(args.output).extension() == ".json");
  // Taken apart as tally train takes them, so that a trace train wrote reports what train
  // printed; a trace without evaluation is one report.
  const RunPeaks peaks = find_run_peaks(trace, device);
  const bool evaluated = peaks.evaluation.found;
  std::cout << "report of " << args.trace << " (" << count_events(trace, device) << " events on "
            << (device < trace.devices.size() ? trace.devices[device] : "no device") << ")\n"
            << format_memory_report(peaks.training,
                                    evaluated ? "memory of the training steps" : "memory")
            << largest_blocks(trace, device, peaks.training);
  if (evaluated) std::cout << '\n' << format_evaluation_peaks(peaks.evaluation);
  if (perfetto) {
    write_perfetto_trace(trace, args.output);
  } else {
    const std::string title =
        args.title.empty()
            ? "tally memory report: " + std::filesystem::path(args.trace).filename().string()
            : args.title;
    write_html_report(trace, args.output, device, title);
  }
  std::cout << "\nwrote " << args.output << " ("
            << format_bytes(std::filesystem::file_size(args.output))
            << (perfetto ? ", Chrome trace JSON: open in ui.perfetto.dev or chrome://tracing)\n"
                         : ", self-contained HTML: open in any browser)\n");
  return 0;
}

}  // namespace

Command add_report_command(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* sub = app.add_subcommand(
      "report", "Break down a trace's memory and render it as an HTML timeline or Perfetto trace");
  const CLI::Option* trace =
      sub->add_option(
             "trace", args->trace,
             "trace written by tally train --trace, or an RMM logging_resource_adaptor CSV")
          ->required();
  sub->add_option("-o,--output", args->output, "file to write the report to")->required();
  sub->add_option("--format", args->format,
                  "html (one self-contained page) or perfetto (Chrome trace JSON); default: "
                  "perfetto when the output ends in .json, html otherwise")
      ->check(CLI::IsMember({"html", "perfetto"}));
  sub->add_option("--device", args->device,
                  "device of the trace to break down and draw (default: its first; the Perfetto "
                  "export holds every device)");
  sub->add_option("--title", args->title, "heading of the HTML page");
  return {sub, [args] { return run_report(*args); }, {trace}};
}

}  // namespace tally::cli
