// Checkpointer: runs the WAL checkpoints of sauron's database on a thread of
// its own, so that the thread that commits (the daemon's loop) never does.
//
// Why: a checkpoint copies the WAL's pages into the database and syncs both
// files (two fdatasyncs). Measured here under a 1000-host placement flood each
// took 25-45 ms, and with SQLite's automatic checkpoint it ran inside the
// COMMIT of whichever request crossed the threshold: the loop answered nothing
// meanwhile, which showed as the slowest placements and as a killed host noticed
// 30+ ms late. WAL lets a checkpoint run beside a writer; only the copy moves
// here, so durability is what synchronous=NORMAL gives either way.
//
// Contract:
//  * Start() installs a WAL hook on `writer` (replacing wal_autocheckpoint) and
//    opens a second connection to `path` for the thread. After a commit leaves
//    at least `wal_pages` pages in the WAL, the thread runs a PASSIVE
//    checkpoint (never blocks the writer nor waits for it).
//  * If the WAL reaches kInlineFactor * wal_pages anyway (the thread starved or
//    failing), the writer checkpoints inline once, as SQLite would have: the WAL
//    must not grow without bound.
//  * The destructor stops the thread and closes its connection; it must run
//    before `writer` is closed (whose close then does the final checkpoint).
//  * The hook runs on the writer's thread; the counters may be read from any.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"

namespace rv::sauron {

class Checkpointer {
 public:
  static constexpr int kInlineFactor = 8;

  static Result<std::unique_ptr<Checkpointer>> Start(const std::string& path, sqlite3* writer, int wal_pages);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Checkpoints run by the thread, and by the writer because the WAL grew too big.
  int64_t background_checkpoints() const { return background_.load(); }
  int64_t inline_checkpoints() const { return inline_.load(); }

 private:
  Checkpointer(sqlite3* writer, sqlite3* own, int wal_pages);
  static int OnCommit(void* self, sqlite3* db, const char* schema, int pages);
  void Run();

  sqlite3* writer_;
  sqlite3* own_;
  const int wal_pages_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool due_ = false;
  bool stop_ = false;
  std::atomic<int64_t> background_{0};
  std::atomic<int64_t> inline_{0};
  std::thread thread_;
};

}  // namespace rv::sauron
