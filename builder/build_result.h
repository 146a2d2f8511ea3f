// What a finished build means, as pure functions (no I/O): reading the files
// the buildpacks driver leaves in OUT_DIR, choosing the image's command, the
// image labels, and the `builder: result {...}` / `builder: error ...` lines
// of CONTRACTS.md section 2 that end the builder's stdout.
//
// OUT_DIR is written by code running inside the build (the app's own Procfile
// included), so its files are hostile input: names are checked, sizes capped,
// and a bad file is an error naming the line, never a crash.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace rv::builder {

// Ordered as written: the first type is the default when there is no `web`.
using ProcessTypes = std::vector<std::pair<std::string, std::string>>;

inline constexpr size_t kMaxProcessTypes = 64;
inline constexpr size_t kMaxCommandBytes = 4096;

// `name: command` per line; blank lines skipped; a later duplicate replaces
// the earlier command in place. Names: [A-Za-z0-9_-]{1,63}.
Result<ProcessTypes> ParseProcessTypes(const std::string& text);
// One buildpack name per line: [A-Za-z0-9._-]{1,63}.
Result<std::vector<std::string>> ParseBuildpacks(const std::string& text);

// `web`'s command, else the first type's; "" when there is none.
std::string DefaultCommand(const ProcessTypes& types);

// TENANT/ENV/APP, each part [a-z0-9][a-z0-9_-]{0,62}.
Status ValidateAppName(const std::string& app);

// JSON texts for the image labels.
std::string ProcessTypesJson(const ProcessTypes& types);
std::string BuildpacksJson(const std::vector<std::string>& packs);

struct BuildResult {
  std::string repo;               // REPO of --image REPO:TAG
  std::string digest;             // manifest digest, sha256:...
  int64_t size_bytes = 0;
  ProcessTypes process_types;
  std::vector<std::string> buildpacks;
  double seconds = 0;
  std::vector<std::pair<std::string, double>> steps;  // stack_pull, prepare, ... (seconds)
};

// `builder: result {"image":"REPO@sha256:...","digest":...,"size_bytes":N,
// "process_types":{...},"buildpacks":[...],"seconds":S,"steps":{...}}`
std::string ResultLine(const BuildResult& r);
// `builder: error <reason>` with the reason on one line (newlines and control
// characters replaced, at most 1000 bytes).
std::string ErrorLine(const std::string& reason);

}  // namespace rv::builder
