// The subcommands of the `tally` command. Each registers itself on the CLI11 app and returns
// what to run when it is the one given on the command line.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace tally::cli {

struct Command {
  CLI::App* app;
  std::function<int()> run;
};

Command add_info_command(CLI::App& app);
Command add_train_command(CLI::App& app);
Command add_estimate_command(CLI::App& app);
Command add_fit_command(CLI::App& app);
Command add_replay_command(CLI::App& app);
Command add_report_command(CLI::App& app);

}  // namespace tally::cli
