// Restore decisions of a restarting strider (live restore, docs/SCEPTRE.md).
// Pure: no I/O, so every rule is unit-tested; the agent applies them.
//
//  * The journal names what this host ran. Entries whose container still
//    runs are adopted (the agent lists them in host.hello; sauron's welcome
//    fences any it moved elsewhere through its `stop` list).
//  * The others (after a reboot, or an app that died with its agent) wait for
//    sauron's welcome: one placed here at the same attempt (`keep`) starts
//    again; one sauron moved elsewhere or stopped meanwhile is fenced (its
//    entry dropped, never started: a job never runs twice).
//  * If sauron does not answer within the restore wait, they start from the
//    journal alone (sealed env from the entry) and are reconciled when it
//    answers (the hello lists them, the welcome's `stop` fences).
//  * Starting order: data services (priority > 0) before code, highest
//    priority first; ties by job id, so the order is reproducible.
#pragma once

#include <string>
#include <vector>

#include "common/msg/types.h"
#include "strider/journal.h"

namespace rv::strider {

struct PendingSplit {
  std::vector<JournalEntry> kept;    // placed here at this attempt: start (the keep path does)
  std::vector<JournalEntry> fenced;  // not placed here any more: drop, never start
};

PendingSplit SplitPendingByWelcome(const std::vector<JournalEntry>& pending, const std::vector<msg::JobRecord>& keep);

// Sorted for starting: data services first (priority desc), then job id.
std::vector<JournalEntry> RestoreOrder(std::vector<JournalEntry> entries);
void SortKeepForStart(std::vector<msg::JobRecord>* keep);

}  // namespace rv::strider
