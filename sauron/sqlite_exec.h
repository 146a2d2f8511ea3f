// SqliteExec: runs SQL that returns no rows (schema, PRAGMA, BEGIN/COMMIT,
// SAVEPOINT...) on `db`; sqlite's error message becomes an Io status. Shared
// by every sauron table owner (store, env config, overlay state).
#pragma once

#include <sqlite3.h>

#include "common/status.h"

namespace rv::sauron {

Status SqliteExec(sqlite3* db, const char* sql);

}  // namespace rv::sauron
