#include "gitrecv/console_command.h"

#include "common/utf8.h"

namespace rv::gitrecv {
namespace {

constexpr char kUsage[] = "usage: ssh ... run TENANT/ENV/APP -- COMMAND";

}  // namespace

bool IsConsole(const std::string& cmd) { return cmd == "run" || cmd.rfind("run ", 0) == 0; }

Status ValidateCommandLine(const std::string& line) {
  if (line.find_first_not_of(' ') == std::string::npos) return Status::Invalid(std::string("no command given (") + kUsage + ")");
  if (line.size() > kMaxCommandLine) {
    return Status::Invalid("the command is longer than " + std::to_string(kMaxCommandLine) + " bytes");
  }
  if (!IsUtf8(line)) return Status::Invalid("the command is not UTF-8 text");
  if (HasControlByte(line)) return Status::Invalid("the command holds a control character (tab, newline...): one line, please");
  return Status::Ok();
}

Result<ConsoleCommand> ParseConsoleCommand(const std::string& cmd) {
  if (!IsConsole(cmd)) return Status::Invalid(std::string("not a console command (") + kUsage + ")");
  if (cmd.size() > kMaxCommandLine + 200) return Status::Invalid("the command is too long");
  std::string rest = cmd.size() > 4 ? cmd.substr(4) : "";
  size_t end = rest.find(' ');
  std::string app_ref = rest.substr(0, end);
  if (app_ref.empty()) return Status::Invalid(std::string("which app? (") + kUsage + ")");
  auto app = names::ParseAppRef(app_ref);
  if (!app.ok()) return Status::Invalid("the app " + names::Quote(app_ref) + " must be TENANT/ENV/APP (" + app.status().message() + ")");
  std::string line = end == std::string::npos ? "" : rest.substr(end + 1);
  if (line == "--") line.clear();
  if (line.rfind("-- ", 0) == 0) line.erase(0, 3);
  if (Status s = ValidateCommandLine(line); !s.ok()) return s;
  return ConsoleCommand{*app, line};
}

}  // namespace rv::gitrecv
