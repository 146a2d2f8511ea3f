#include "strider/journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/crypto/sha256.h"
#include "common/msg/envelope.h"

namespace rv::strider {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxEntryBytes = 4u << 20;
constexpr const char* kMagic = "rvjournal 1 ";

Status SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Io("open " + dir + ": " + strerror(errno));
  int rc = fsync(fd);
  close(fd);
  return rc == 0 ? Status::Ok() : Status::Io("fsync " + dir + ": " + strerror(errno));
}

}  // namespace

std::string EncodeJournalEntry(const JournalEntry& e) {
  std::string body = msg::Encode(e);
  return kMagic + crypto::Sha256Hex(body) + " " + std::to_string(body.size()) + "\n" + body;
}

Result<JournalEntry> DecodeJournalEntry(const std::string& bytes) {
  if (bytes.size() > kMaxEntryBytes) return Status::Invalid("entry larger than 4 MiB");
  const std::string magic = kMagic;
  if (bytes.compare(0, magic.size(), magic) != 0) return Status::Invalid("not a journal entry (bad header)");
  size_t nl = bytes.find('\n');
  if (nl == std::string::npos || nl > 200) return Status::Invalid("header line missing");
  std::string header = bytes.substr(magic.size(), nl - magic.size());
  size_t sp = header.find(' ');
  if (sp != 64) return Status::Invalid("header has no digest");
  std::string digest = header.substr(0, 64), len_s = header.substr(65);
  if (len_s.empty() || len_s.size() > 9 || len_s.find_first_not_of("0123456789") != std::string::npos)
    return Status::Invalid("header has no length");
  size_t len = std::stoul(len_s);
  std::string body = bytes.substr(nl + 1);
  if (body.size() != len)
    return Status::Invalid("truncated or extended: body is " + std::to_string(body.size()) + " bytes, header says " +
                           len_s);
  if (crypto::Sha256Hex(body) != digest) return Status::Invalid("digest mismatch (corrupt body)");
  auto env = msg::DecodeEnvelope(body);
  if (!env.ok()) return Status::Invalid("body: " + env.status().message());
  JournalEntry e;
  if (Status s = msg::DecodeBody(*env, &e); !s.ok()) return s;
  if (e.spec.id.empty() || e.attempt <= 0) return Status::Invalid("entry without a job id or attempt");
  return e;
}

Status Journal::Open() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return Status::Io("create " + dir_ + ": " + ec.message());
  chmod(dir_.c_str(), 0700);
  return Status::Ok();
}

std::string Journal::PathOf(const std::string& job_id) const {
  return dir_ + "/" + crypto::Sha256Hex(job_id).substr(0, 24) + ".entry";
}

Journal::Loaded Journal::Load() {
  Loaded out;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir_, ec)) {
    std::string path = f.path().string();
    if (f.path().extension() == ".tmp") {  // a Put that did not finish: the old entry (if any) stands
      fs::remove(f.path(), ec);
      continue;
    }
    if (f.path().extension() != ".entry") continue;
    std::string why;
    std::ifstream in(path, std::ios::binary);
    std::string bytes;
    if (!in) {
      why = "cannot read";
    } else {
      std::ostringstream ss;
      ss << in.rdbuf();
      bytes = ss.str();
    }
    Result<JournalEntry> e = why.empty() ? DecodeJournalEntry(bytes) : Result<JournalEntry>(Status::Io(why));
    if (e.ok() && PathOf(e->spec.id) != path) e = Status::Invalid("entry is for job " + e->spec.id.substr(0, 64) + ", not this file");
    if (e.ok()) {
      out.entries.push_back(std::move(*e));
      continue;
    }
    out.corrupt.push_back(f.path().filename().string() + ": " + e.status().message());
    std::error_code rec;
    fs::rename(path, path + ".corrupt", rec);
  }
  return out;
}

Status Journal::Put(const JournalEntry& in) {
  JournalEntry e = in;
  e.written_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  std::string bytes = EncodeJournalEntry(e);
  std::string path = PathOf(e.spec.id), tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::Io("create " + tmp + ": " + strerror(errno));
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + off, bytes.size() - off);
    if (n <= 0) {
      int err = n < 0 ? errno : ENOSPC;
      close(fd);
      unlink(tmp.c_str());
      return Status::Io("write " + tmp + ": " + strerror(err));
    }
    off += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    int err = errno;
    close(fd);
    unlink(tmp.c_str());
    return Status::Io("fsync " + tmp + ": " + strerror(err));
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return Status::Io("rename " + tmp + ": " + strerror(err));
  }
  return SyncDir(dir_);
}

Status Journal::Remove(const std::string& job_id) {
  std::string path = PathOf(job_id);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return Status::Io("remove " + path + ": " + strerror(errno));
  return SyncDir(dir_);
}

}  // namespace rv::strider
