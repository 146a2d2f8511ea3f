// TempDir: a private (0700) temp dir that rv-deploy owns, named
// $TMPDIR/PREFIX.PID.XXXXXX (TMPDIR unset or empty: /tmp), removed with all it
// holds when the object dies. Single owner, not thread-safe.
//
// A process killed by SIGKILL (or a crash) runs no destructor: the PID in the
// name lets a later rv-deploy remove such leftovers (SweepOrphanTempDirs),
// and only those whose process is gone, so concurrent deploys never lose
// theirs. IsOrphanTempDir is the pure decision, the sweep its I/O.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "common/status.h"

namespace rv::deploy {

// The directory temp files go in: $TMPDIR when set and not empty, else /tmp.
std::string TempRoot();

// NAME is PREFIX.PID.SUFFIX with PID a positive decimal number and
// pid_alive(PID) false. Anything else (other names, a live PID) is not ours to remove.
bool IsOrphanTempDir(const std::string& name, const std::string& prefix, const std::function<bool(pid_t)>& pid_alive);

// Whether a process with this PID exists (kill(pid, 0) does not fail with ESRCH).
bool PidAlive(pid_t pid);

// Removes every directory in ROOT that IsOrphanTempDir says is an orphan of
// PREFIX. Returns how many it removed; errors (a vanished entry) are skipped.
int SweepOrphanTempDirs(const std::string& root, const std::string& prefix,
                        const std::function<bool(pid_t)>& pid_alive = PidAlive);

class TempDir {
 public:
  TempDir() = default;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() { Remove(); }

  // Makes ROOT/PREFIX.<this pid>.XXXXXX (mode 0700). One dir per object.
  Status Create(const std::string& root, const std::string& prefix);
  // Removes the dir and what it holds now (idempotent).
  void Remove();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace rv::deploy
