#include "common/host_layout.h"

#include <cctype>

namespace rv::host_layout {

std::string DefaultDataDir(const std::string& pod_dir, const std::string& host_id) {
  return pod_dir + "/hosts/" + host_id;
}

std::string LogDir(const std::string& data_dir) { return data_dir + "/logs"; }

std::string SafeName(const std::string& job_id) {
  std::string out;
  for (char c : job_id) out += (isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  if (out.empty() || out[0] == '.') out = "_" + out;
  return out;
}

std::string ProcessLogPath(const std::string& data_dir, const std::string& job_id) {
  return LogDir(data_dir) + "/" + SafeName(job_id) + ".log";
}

std::string ContainerStateDir(const std::string& data_dir) { return data_dir + "/container"; }

std::string ContainersDir(const std::string& state_dir) { return state_dir + "/containers"; }

std::string ContainerDir(const std::string& state_dir, const std::string& container_id) {
  return ContainersDir(state_dir) + "/" + container_id;
}

std::string ConsoleLogPath(const std::string& container_dir) { return container_dir + "/console.log"; }

}  // namespace rv::host_layout
