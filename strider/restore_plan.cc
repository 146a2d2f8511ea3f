#include "strider/restore_plan.h"

#include <algorithm>
#include <map>

namespace rv::strider {

PendingSplit SplitPendingByWelcome(const std::vector<JournalEntry>& pending, const std::vector<msg::JobRecord>& keep) {
  std::map<std::string, int64_t> placed;
  for (const auto& k : keep) placed[k.spec.id] = k.attempt;
  PendingSplit out;
  for (const auto& e : pending) {
    auto it = placed.find(e.spec.id);
    (it != placed.end() && it->second == e.attempt ? out.kept : out.fenced).push_back(e);
  }
  return out;
}

std::vector<JournalEntry> RestoreOrder(std::vector<JournalEntry> entries) {
  std::stable_sort(entries.begin(), entries.end(), [](const JournalEntry& a, const JournalEntry& b) {
    if (a.spec.priority != b.spec.priority) return a.spec.priority > b.spec.priority;
    return a.spec.id < b.spec.id;
  });
  return entries;
}

void SortKeepForStart(std::vector<msg::JobRecord>* keep) {
  std::stable_sort(keep->begin(), keep->end(), [](const msg::JobRecord& a, const msg::JobRecord& b) {
    if (a.spec.priority != b.spec.priority) return a.spec.priority > b.spec.priority;
    return a.spec.id < b.spec.id;
  });
}

}  // namespace rv::strider
