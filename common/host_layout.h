// HostLayout: the one source of every on-disk name a strider uses below its
// data directory, read also by `rv logs` and the recovery tool.
//
//   <pod_dir>/hosts/<host>/                 data dir (default; --data-dir overrides)
//     logs/<SafeName(job id)>.log           a process job's output
//     container/                            the container runtime's state dir
//       containers/<container id>/          one container (bundle, rootfs)
//         console.log                       its output
//
// Contract: pure string functions of their arguments (no I/O), thread-safe.
// SafeName maps any job id to one path component: [A-Za-z0-9._-] kept, every
// other byte '_', never empty, never starting with '.'.
#pragma once

#include <string>

namespace rv::host_layout {

std::string DefaultDataDir(const std::string& pod_dir, const std::string& host_id);
std::string LogDir(const std::string& data_dir);
std::string SafeName(const std::string& job_id);
std::string ProcessLogPath(const std::string& data_dir, const std::string& job_id);
std::string ContainerStateDir(const std::string& data_dir);
std::string ContainersDir(const std::string& state_dir);
std::string ContainerDir(const std::string& state_dir, const std::string& container_id);
std::string ConsoleLogPath(const std::string& container_dir);

}  // namespace rv::host_layout
