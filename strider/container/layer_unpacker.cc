#include "strider/container/layer_unpacker.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace rv::container {

namespace {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { if (fd_ >= 0) close(fd_); }
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept { std::swap(fd_, o.fd_); return *this; }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

std::string Err(const std::string& what) { return what + ": " + strerror(errno); }

Status IoOrFull(const std::string& what) {
  if (errno == ENOSPC || errno == EDQUOT) return Status::Io("disk full while unpacking layer (" + Err(what) + ")");
  return Status::Io(Err(what));
}

// Splits a tar entry name into components; refuses absolute names and "..".
Status SplitPath(const std::string& raw, std::vector<std::string>* out) {
  out->clear();
  if (raw.empty()) return Status::Invalid("empty entry name");
  if (raw[0] == '/') return Status::Invalid("absolute path in layer: '" + raw + "'");
  size_t start = 0;
  while (start <= raw.size()) {
    size_t end = raw.find('/', start);
    if (end == std::string::npos) end = raw.size();
    std::string c = raw.substr(start, end - start);
    if (c == "..") return Status::Invalid("path with '..' in layer: '" + raw + "'");
    if (!c.empty() && c != ".") out->push_back(c);
    start = end + 1;
  }
  return Status::Ok();
}

// Walks from root through comps[0..n) without following symlinks, creating
// missing directories when `create`.
Result<Fd> OpenDir(int root, const std::vector<std::string>& comps, size_t n, bool create,
                   const std::string& name) {
  Fd cur(dup(root));
  for (size_t i = 0; i < n; i++) {
    int fd = openat(cur.get(), comps[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (mkdirat(cur.get(), comps[i].c_str(), 0755) != 0 && errno != EEXIST) return IoOrFull("mkdir in layer");
      fd = openat(cur.get(), comps[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      if (errno == ELOOP || errno == ENOTDIR)
        return Status::Invalid("entry '" + name + "' goes through a symlink or non-directory ('" + comps[i] + "')");
      return Status::Invalid(Err("entry '" + name + "': cannot open parent '" + comps[i] + "'"));
    }
    cur = Fd(fd);
  }
  return cur;
}

// Removes whatever is at parent/name (a later entry replaces an earlier one).
Status RemoveAt(int parent, const std::string& name) {
  struct stat st;
  if (fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Status::Ok();
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(parent, name.c_str(), 0) != 0) return Status::Io(Err("unlink " + name));
    return Status::Ok();
  }
  // /proc/self/fd/N is the directory itself; remove_all never follows symlinks below it.
  std::error_code ec;
  std::filesystem::remove_all("/proc/self/fd/" + std::to_string(parent) + "/" + name, ec);
  if (ec) return Status::Io("remove " + name + ": " + ec.message());
  return Status::Ok();
}

Status SetMeta(int parent, const std::string& leaf, struct archive_entry* e, bool is_link) {
  if (fchownat(parent, leaf.c_str(), archive_entry_uid(e), archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) != 0)
    return Status::Io(Err("chown " + leaf));
  if (!is_link && fchmodat(parent, leaf.c_str(), archive_entry_mode(e) & 07777, 0) != 0)
    return Status::Io(Err("chmod " + leaf));
  struct timespec ts[2];
  ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(e);
  ts[0].tv_nsec = ts[1].tv_nsec = archive_entry_mtime_nsec(e);
  utimensat(parent, leaf.c_str(), ts, AT_SYMLINK_NOFOLLOW);
  return Status::Ok();
}

Status CheckSymlink(const std::vector<std::string>& comps, const std::string& target, const UnpackOptions& opt,
                    const std::string& name) {
  if (target.empty()) return Status::Invalid("empty symlink target for '" + name + "'");
  if (target[0] == '/') {
    if (!opt.allow_absolute_symlinks)
      return Status::Invalid("absolute symlink '" + name + "' -> '" + target + "' refused");
    return Status::Ok();
  }
  // Lexical resolution from the link's directory must stay inside the root.
  int depth = static_cast<int>(comps.size()) - 1;
  size_t start = 0;
  while (start <= target.size()) {
    size_t end = target.find('/', start);
    if (end == std::string::npos) end = target.size();
    std::string c = target.substr(start, end - start);
    if (c == "..") {
      if (--depth < 0) return Status::Invalid("symlink '" + name + "' -> '" + target + "' escapes the rootfs");
    } else if (!c.empty() && c != ".") {
      depth++;
    }
    start = end + 1;
  }
  return Status::Ok();
}

class Unpacker {
 public:
  Unpacker(int root, const UnpackOptions& opt, UnpackStats* st) : root_(root), opt_(opt), st_(st) {}

  Status Entry(struct archive* a, struct archive_entry* e) {
    const char* pn = archive_entry_pathname(e);
    std::string name = pn ? pn : "";
    std::vector<std::string> comps;
    Status s = SplitPath(name, &comps);
    if (!s.ok()) return s;
    if (comps.empty()) return Status::Ok();  // "./" itself
    if (++st_->entries > opt_.max_entries) return Status::Invalid("layer has too many entries");
    std::string leaf = comps.back();
    auto parent = OpenDir(root_, comps, comps.size() - 1, true, name);
    if (!parent.ok()) return parent.status();
    int pfd = parent->get();

    if (leaf.rfind(".wh.", 0) == 0) {
      st_->whiteouts++;
      if (leaf == ".wh..wh..opq") {
        if (fsetxattr(pfd, "trusted.overlay.opaque", "y", 1, 0) != 0) return Status::Io(Err("set opaque xattr"));
        return Status::Ok();
      }
      std::string target = leaf.substr(4);
      if (target.empty() || target == "." || target == ".." || target.find('/') != std::string::npos)
        return Status::Invalid("bad whiteout '" + name + "'");
      s = RemoveAt(pfd, target);
      if (!s.ok()) return s;
      if (mknodat(pfd, target.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) return IoOrFull("whiteout " + target);
      return Status::Ok();
    }

    const char* hl = archive_entry_hardlink(e);
    if (hl) {
      std::vector<std::string> tc;
      s = SplitPath(hl, &tc);
      if (!s.ok()) return Status::Invalid("hard link '" + name + "' -> '" + hl + "' refused: " + s.message());
      if (tc.empty()) return Status::Invalid("hard link '" + name + "' has an empty target");
      auto tparent = OpenDir(root_, tc, tc.size() - 1, false, hl);
      if (!tparent.ok()) return Status::Invalid("hard link '" + name + "' -> '" + hl + "': " + tparent.status().message());
      struct stat tst;
      if (fstatat(tparent->get(), tc.back().c_str(), &tst, AT_SYMLINK_NOFOLLOW) != 0)
        return Status::Invalid("hard link '" + name + "' -> '" + hl + "': target not in this layer");
      if (S_ISDIR(tst.st_mode)) return Status::Invalid("hard link to a directory: '" + name + "'");
      if (tparent->get() != pfd || tc.back() != leaf) {
        s = RemoveAt(pfd, leaf);
        if (!s.ok()) return s;
      }
      if (linkat(tparent->get(), tc.back().c_str(), pfd, leaf.c_str(), 0) != 0 && errno != EEXIST)
        return IoOrFull("link " + name);
      return Status::Ok();
    }

    switch (archive_entry_filetype(e)) {
      case AE_IFDIR: {
        struct stat st;
        if (fstatat(pfd, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
          s = RemoveAt(pfd, leaf);
          if (!s.ok()) return s;
        }
        if (mkdirat(pfd, leaf.c_str(), 0755) != 0 && errno != EEXIST) return IoOrFull("mkdir " + name);
        return SetMeta(pfd, leaf, e, false);
      }
      case AE_IFREG: {
        s = RemoveAt(pfd, leaf);
        if (!s.ok()) return s;
        Fd f(openat(pfd, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!f.ok()) return IoOrFull("create " + name);
        const void* buf;
        size_t len;
        la_int64_t off;
        for (;;) {
          int r = archive_read_data_block(a, &buf, &len, &off);
          if (r == ARCHIVE_EOF) break;
          if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
            return Status::Invalid("layer data for '" + name + "' is corrupt: " + archive_error_string(a));
          st_->bytes += static_cast<int64_t>(len);
          if (st_->bytes > opt_.max_bytes) return Status::Invalid("layer expands past the size limit");
          const char* p = static_cast<const char*>(buf);
          while (len > 0) {
            ssize_t w = pwrite(f.get(), p, len, off);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) return IoOrFull("write " + name);
            p += w;
            off += w;
            len -= static_cast<size_t>(w);
          }
        }
        if (ftruncate(f.get(), archive_entry_size(e)) != 0) return IoOrFull("truncate " + name);
        return SetMeta(pfd, leaf, e, false);
      }
      case AE_IFLNK: {
        const char* t = archive_entry_symlink(e);
        std::string target = t ? t : "";
        s = CheckSymlink(comps, target, opt_, name);
        if (!s.ok()) return s;
        s = RemoveAt(pfd, leaf);
        if (!s.ok()) return s;
        if (symlinkat(target.c_str(), pfd, leaf.c_str()) != 0) return IoOrFull("symlink " + name);
        return SetMeta(pfd, leaf, e, true);
      }
      case AE_IFIFO: {
        s = RemoveAt(pfd, leaf);
        if (!s.ok()) return s;
        if (mknodat(pfd, leaf.c_str(), S_IFIFO | 0600, 0) != 0) return IoOrFull("mkfifo " + name);
        return SetMeta(pfd, leaf, e, false);
      }
      default:
        st_->skipped++;  // devices, sockets
        return Status::Ok();
    }
  }

 private:
  int root_;
  const UnpackOptions& opt_;
  UnpackStats* st_;
};

}  // namespace

Status UnpackLayer(const std::string& blob_path, const std::string& dest, const UnpackOptions& opt,
                   UnpackStats* stats) {
  UnpackStats local;
  if (!stats) stats = &local;
  if (mkdir(dest.c_str(), 0755) != 0 && errno != EEXIST) return IoOrFull("mkdir " + dest);
  Fd root(open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.ok()) return Status::Io(Err("open " + dest));
  struct archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_filter_none(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  Status st;
  if (archive_read_open_filename(a, blob_path.c_str(), 1 << 17) != ARCHIVE_OK) {
    st = Status::Invalid("layer " + blob_path + " is not a readable tar: " + archive_error_string(a));
  } else {
    Unpacker u(root.get(), opt, stats);
    struct archive_entry* e;
    for (;;) {
      int r = archive_read_next_header(a, &e);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
        st = Status::Invalid(std::string("layer is corrupt or truncated: ") + archive_error_string(a));
        break;
      }
      st = u.Entry(a, e);
      if (!st.ok()) break;
    }
  }
  archive_read_free(a);
  return st;
}

}  // namespace rv::container
