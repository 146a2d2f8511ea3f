// Journal: a host's desired state on disk, what its strider must run.
//
// One entry per job this host runs: the job's spec (image reference, limits,
// restart policy, port, health, non-secret config, environment), the attempt
// sauron placed here, the image's manifest digest once pulled, the container's
// overlay address once attached, and the job's environment config exactly as
// sauron sealed it to this host's key (opens only with the host's secret key
// file; never a plaintext secret). Written (and fsynced) before a workload
// starts, removed once it stopped; read by a restarting strider (live restore:
// adopt what still runs) and after a reboot (restart what must run).
//
// Layout: <dir>/<sha256(job id), 24 hex>.entry, one small file per job, written
// to a temporary name, fsynced and renamed over (so an entry is either the old
// or the new one, never half), and the directory fsynced. Entry format
// (EncodeJournalEntry, pure): a text line "rvjournal 1 <sha256 of body> <body
// length>\n" and the msgpack body. A file that does not decode (truncated,
// flipped bits, another program's file) is reported and renamed to
// <name>.corrupt, set aside for an operator, never fatal: the rest of the
// journal still loads.
//
// Not thread-safe: the agent's loop owns it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/msg/types.h"
#include "common/status.h"

namespace rv::strider {

struct JournalEntry {
  static constexpr const char* kType = "strider.journal";
  msg::JobSpec spec;
  int64_t attempt = 0;
  std::string image_digest;     // manifest digest, "" until pulled
  std::string overlay_address;  // "" when none (no env, or not attached yet)
  std::string sealed_env;       // as sauron sealed it to this host's key ("" = none)
  int64_t written_unix_ms = 0;
  RV_DEFINE_MAP(spec, attempt, image_digest, overlay_address, sealed_env, written_unix_ms);
};

// Pure codec. Decode checks the header, the length and the digest before it
// looks at the body, and refuses an entry without a job id or attempt.
std::string EncodeJournalEntry(const JournalEntry& e);
Result<JournalEntry> DecodeJournalEntry(const std::string& bytes);

class Journal {
 public:
  struct Loaded {
    std::vector<JournalEntry> entries;
    std::vector<std::string> corrupt;  // what was set aside: "<file>: <why>"
  };

  explicit Journal(std::string dir) : dir_(std::move(dir)) {}
  // Creates the directory (0700).
  Status Open();
  // Every entry; corrupt files are renamed to *.corrupt and listed.
  Loaded Load();
  // Durable when it returns ok (file and directory fsynced).
  Status Put(const JournalEntry& e);
  Status Remove(const std::string& job_id);
  std::string PathOf(const std::string& job_id) const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace rv::strider
