// Helpers for the container tests: tar layers built in the test, a private
// docker-registry on a free port, shell commands.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "common/transport/test_ports.h"

namespace rv::container::testing {

struct TarEntry {
  TarEntry(std::string n, char t = 'f', std::string d = "", int m = 0644, int u = 0, int g = 0)
      : name(std::move(n)), type(t), data(std::move(d)), mode(m), uid(u), gid(g) {}
  std::string name;
  char type;         // f file, d dir, l symlink, h hardlink, c char dev
  std::string data;  // file content or link target
  int mode;
  int uid, gid;
};

inline bool WriteTar(const std::string& path, const std::vector<TarEntry>& entries, bool gzip = true) {
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) archive_write_add_filter_gzip(a);
  if (archive_write_open_filename(a, path.c_str()) != ARCHIVE_OK) return false;
  for (const auto& e : entries) {
    struct archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.name.c_str());
    archive_entry_set_uid(ae, e.uid);
    archive_entry_set_gid(ae, e.gid);
    archive_entry_set_mtime(ae, 1000, 0);
    switch (e.type) {
      case 'd': archive_entry_set_filetype(ae, AE_IFDIR); archive_entry_set_perm(ae, e.mode); break;
      case 'l': archive_entry_set_filetype(ae, AE_IFLNK); archive_entry_set_symlink(ae, e.data.c_str()); archive_entry_set_perm(ae, 0777); break;
      case 'h': archive_entry_set_filetype(ae, AE_IFREG); archive_entry_set_hardlink(ae, e.data.c_str()); archive_entry_set_perm(ae, e.mode); break;
      case 'c': archive_entry_set_filetype(ae, AE_IFCHR); archive_entry_set_perm(ae, e.mode); break;
      default: archive_entry_set_filetype(ae, AE_IFREG); archive_entry_set_perm(ae, e.mode); archive_entry_set_size(ae, e.data.size());
    }
    archive_write_header(a, ae);
    if (e.type == 'f' && !e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
  return true;
}

inline std::string Sh(const std::string& cmd, int* rc = nullptr) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 512> buf;
  while (fgets(buf.data(), buf.size(), p)) out += buf.data();
  int st = pclose(p);
  if (rc) *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

inline int FreePort() { return transport::ReserveTestPort(); }

}  // namespace rv::container::testing
