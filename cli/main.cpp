// tally: train, estimate and explain memory. Usage errors (unknown commands, flags or values)
// exit 2, run-time errors exit 1, each with one line on stderr.
#include <iostream>
#include <vector>

#include "allocator/error.h"
#include "cli/commands.h"
#include "tally/build_config.h"

int main(int argc, char** argv) {
  CLI::App app{"tally: exact memory accounting for deep-learning training", "tally"};
  app.set_version_flag("--version", tally::build::kVersion);
  app.require_subcommand(1);
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("tally: error: ") + e.what() + " (see 'tally --help')\n";
  });
  const std::vector<tally::cli::Command> commands{
      tally::cli::add_train_command(app),  tally::cli::add_estimate_command(app),
      tally::cli::add_fit_command(app),    tally::cli::add_replay_command(app),
      tally::cli::add_report_command(app), tally::cli::add_info_command(app)};
  // CLI11 reports a mistyped subcommand as a missing one; name it instead.
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const auto& command : commands) known = known || command.app->get_name() == argv[1];
    if (!known) {
      std::cerr << "tally: error: unknown subcommand '" << argv[1] << "' (see 'tally --help')\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    for (const auto& command : commands) {
      if (command.app->parsed()) return command.run();
    }
    return 2;
  } catch (const tally::Error& e) {
    std::cerr << "tally: error: " << e.what() << '\n';
    return tally::exit_status(e.kind());
  } catch (const std::exception& e) {
    std::cerr << "tally: error: " << e.what() << '\n';
    return tally::exit_status(tally::ErrorKind::internal);
  }
}
