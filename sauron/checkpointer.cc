#include "sauron/checkpointer.h"

#include <spdlog/spdlog.h>

#include "common/clock.h"

namespace rv::sauron {

Result<std::unique_ptr<Checkpointer>> Checkpointer::Start(const std::string& path, sqlite3* writer,
                                                          int wal_pages) {
  sqlite3* own = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &own, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string m = own ? sqlite3_errmsg(own) : "out of memory";
    sqlite3_close_v2(own);
    return Status::Io("checkpointer cannot open " + path + ": " + m);
  }
  sqlite3_busy_timeout(own, 1000);
  std::unique_ptr<Checkpointer> c(new Checkpointer(writer, own, wal_pages));
  // The hook replaces the automatic checkpoint (sqlite3_wal_autocheckpoint
  // installs a hook of its own, and there is one hook per connection).
  sqlite3_wal_hook(writer, &Checkpointer::OnCommit, c.get());
  c->thread_ = std::thread([p = c.get()] { p->Run(); });
  return c;
}

Checkpointer::Checkpointer(sqlite3* writer, sqlite3* own, int wal_pages)
    : writer_(writer), own_(own), wal_pages_(wal_pages) {}

Checkpointer::~Checkpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  sqlite3_close_v2(own_);
}

int Checkpointer::OnCommit(void* self, sqlite3* db, const char* schema, int pages) {
  auto* c = static_cast<Checkpointer*>(self);
  if (pages >= kInlineFactor * c->wal_pages_) {
    int log = 0, done = 0;
    if (sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, &log, &done) == SQLITE_OK) {
      c->inline_++;
      spdlog::warn("the WAL reached {} pages: checkpointed in the committing thread", pages);
    }
    return SQLITE_OK;
  }
  if (pages >= c->wal_pages_) {
    {
      std::lock_guard<std::mutex> l(c->mu_);
      c->due_ = true;
    }
    c->wake_.notify_one();
  }
  return SQLITE_OK;
}

void Checkpointer::Run() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    wake_.wait(l, [this] { return due_ || stop_; });
    if (stop_) return;
    due_ = false;
    l.unlock();
    int64_t t0 = MonotonicMs();
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(own_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc == SQLITE_OK) {
      background_++;
      spdlog::debug("checkpoint: {} of {} WAL pages in {} ms", done, log, MonotonicMs() - t0);
    } else if (rc != SQLITE_BUSY) {
      spdlog::warn("checkpoint failed: {}", sqlite3_errmsg(own_));
    }
    l.lock();
  }
}

}  // namespace rv::sauron
