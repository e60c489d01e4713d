// The modelc subcommands. Each Add*Command registers its options and a
// callback that sets *exit_code.
#pragma once
#include <CLI/CLI.hpp>

namespace modelc {

void AddBuildCommand(CLI::App& app, int* exit_code);
void AddRunCommand(CLI::App& app, int* exit_code);
void AddInspectCommand(CLI::App& app, int* exit_code);
void AddDiffCommand(CLI::App& app, int* exit_code);
void AddVerifyCommand(CLI::App& app, int* exit_code);
void AddCheckpointCommand(CLI::App& app, int* exit_code);
void AddQuantizeCommand(CLI::App& app, int* exit_code);
void AddEvalCommand(CLI::App& app, int* exit_code);
void AddSignCommand(CLI::App& app, int* exit_code);
void AddAuditCommand(CLI::App& app, int* exit_code);
void AddTokenizeCommand(CLI::App& app, int* exit_code);
void AddServeCommand(CLI::App& app, int* exit_code);
void AddReportCommand(CLI::App& app, int* exit_code);
void AddCreditsCommand(CLI::App& app, int* exit_code);

// Prints "modelc: error: <msg>" to stderr.
void PrintError(const std::string& msg);

}  // namespace modelc
