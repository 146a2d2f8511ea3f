// StackChoice: which stack image a build runs in, decided from what
// `buildpacks/bin/build --choose APP [ENV]` printed (the packs the build would
// run, one a line; or, exit non-zero, a last line saying why none). Pure: the
// builder runs --choose as the build user (unprivileged_run.h) and hands the
// output here.
//
// The python pack needs python3, which only stack/python has; every other
// built-in pack runs on stack/busybox, the smallest stack (1 MB), as a
// Heroku user expects from a static site or a shell Procfile. The output is
// the app's doing (.buildpacks, BUILDPACK_URL), so it is checked like any
// build output: names only, bounded. Thread-safe (no state).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rv::builder {

// `--stack auto`: the builder chooses with ChooseStack.
inline constexpr std::string_view kAutoStack = "auto";
inline constexpr std::string_view kPythonStack = "stack/python:latest";
inline constexpr std::string_view kBusyboxStack = "stack/busybox:latest";

struct StackChoice {
  std::string stack;               // REPO:TAG in the pod's registry
  std::vector<std::string> packs;  // in the order the build runs them
  std::string why;                 // "python buildpack" / "static buildpack, no python"
};

// exit_code and output of `bin/build --choose`. Exit 0 with pack names:
// the choice. Exit non-zero: Invalid with the driver's last line (its reason,
// e.g. "no buildpack detected this app: ..."). Anything else (no names, a
// line that is not a pack name, more than 8 packs): Invalid.
Result<StackChoice> ChooseStack(int exit_code, std::string_view output);

}  // namespace rv::builder
