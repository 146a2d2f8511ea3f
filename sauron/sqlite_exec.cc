#include "sauron/sqlite_exec.h"

#include <string>

namespace rv::sauron {

Status SqliteExec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::Io("sqlite: " + m);
  }
  return Status::Ok();
}

}  // namespace rv::sauron
