// SqliteExec: runs SQL that returns no rows (schema, PRAGMA, BEGIN/COMMIT,
// SAVEPOINT...) on `db`; sqlite's error message becomes an Io status.
// SqliteStatement: a prepared statement that finalizes itself.
// SqliteOpen: opens (creating) a database file for one owner.
// Shared by every sauron table owner (store, env config, overlay state,
// accounts, releases). Not thread-safe: each owner uses its own connection.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "common/status.h"

namespace rv::sauron {

Status SqliteExec(sqlite3* db, const char* sql);

// The connection, or an Io status naming the file; the caller closes it.
Result<sqlite3*> SqliteOpen(const std::string& path);

class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) s_ = nullptr;
  }
  ~SqliteStatement() { sqlite3_finalize(s_); }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  bool ok() const { return s_ != nullptr; }
  SqliteStatement& Text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  SqliteStatement& Blob(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  SqliteStatement& Int(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  int Step() { return s_ ? sqlite3_step(s_) : SQLITE_ERROR; }
  // Runs a statement that returns no rows.
  Status Run() { return Step() == SQLITE_DONE ? Status::Ok() : Error(); }
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  std::string ColText(int c) {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return p ? std::string(p, sqlite3_column_bytes(s_, c)) : std::string();
  }
  std::string ColBlob(int c) {
    auto* p = static_cast<const char*>(sqlite3_column_blob(s_, c));
    return p ? std::string(p, sqlite3_column_bytes(s_, c)) : std::string();
  }
  int64_t ColInt(int c) { return sqlite3_column_int64(s_, c); }
  Status Error() const { return Status::Io(std::string("sqlite: ") + sqlite3_errmsg(db_)); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

}  // namespace rv::sauron
