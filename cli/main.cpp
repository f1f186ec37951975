// tally: train, estimate and explain memory. Every error is one line on stderr, and its kind is
// the exit status (tally::exit_status, the one mapping): usage 2, CLI11's parse errors included;
// data 3; out of memory 4; device 5; internal 70.
#include <filesystem>
#include <iostream>
#include <new>
#include <string>
#include <system_error>
#include <vector>

#include "allocator/error.h"
#include "cli/cleanup_warning.h"
#include "cli/commands.h"
#include "distributed/world.h"
#include "tally/build_config.h"

namespace {

void check_inputs(const tally::cli::Command& command) {
  for (const CLI::Option* option : command.inputs) {
    for (const std::string& path : option->results()) {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) {
        throw tally::DataError(option->get_name() + ": cannot read '" + path +
                               "': " + (ec ? ec.message() : "no such file or directory"));
      }
    }
  }
}

// Prints `message` as the one error line (naming the rank in a job of several) and returns
// `status`; in a job of several ranks, ends them all with it at once, so that none waits for this
// one until its timeout.
int fail(const std::string& message, int status) {
  const auto place = tally::dist::launched_world();
  std::cerr << "tally: error: "
            << (place && place->size > 1 ? "rank " + std::to_string(place->rank) + ": " : "")
            << message << '\n'
            << std::flush;
  tally::dist::abort_world(status);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  const int usage = tally::exit_status(tally::ErrorKind::usage);
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
      return usage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : usage;
  }
  const tally::cli::CleanupWarning cleanup_warning(std::cerr);
  try {
    for (const auto& command : commands) {
      if (!command.app->parsed()) continue;
      check_inputs(command);
      return command.run();
    }
    return usage;
  } catch (const tally::Error& e) {
    return fail(e.what(), tally::exit_status(e.kind()));
  } catch (const std::bad_alloc& e) {
    return fail(std::string("out of host memory (") + e.what() + ")",
                tally::exit_status(tally::ErrorKind::out_of_memory));
  } catch (const std::exception& e) {
    return fail(e.what(), tally::exit_status(tally::ErrorKind::internal));
  }
}
