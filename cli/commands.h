// The subcommands of the `tally` command. Each registers itself on the CLI11 app and returns
// what to run when it is the one given on the command line.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

namespace tally::cli {

struct Command {
  CLI::App* app;
  std::function<int()> run;
  // The options naming files or directories to read. One that does not exist is a data error
  // (exit 3), found by main once the whole command line has parsed: the command is well formed,
  // the file system lacks what it names. (CLI11's ExistingFile would make it a usage error.)
  std::vector<const CLI::Option*> inputs = {};
};

Command add_info_command(CLI::App& app);
Command add_train_command(CLI::App& app);
Command add_estimate_command(CLI::App& app);
Command add_fit_command(CLI::App& app);
Command add_replay_command(CLI::App& app);
Command add_report_command(CLI::App& app);

}  // namespace tally::cli
