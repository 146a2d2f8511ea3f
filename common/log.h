// Logging for every daemon: spdlog, one logger per process, named after the
// component, to stderr (systemd/journald or the pod launcher capture it).
// Never log a secret: log key fingerprints (see KeyFingerprint), not keys.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace rv {

// Sets the default logger's name and level ("trace".."off"; unknown -> info).
void InitLogging(const std::string& component, const std::string& level = "info");

}  // namespace rv
