#include "common/oci/layer_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <vector>

#include "common/crypto/sha256.h"

namespace rv::oci {

namespace {

// tar bytes -> diff_id hash -> gzip -> digest hash -> file
struct GzipSink {
  int fd = -1;
  z_stream zs{};
  crypto::Sha256 tar_hash, gz_hash;
  int64_t gz_bytes = 0;
  int err = 0;

  bool Emit(const unsigned char* p, size_t n) {
    gz_hash.Update(p, n);
    gz_bytes += static_cast<int64_t>(n);
    while (n > 0) {
      ssize_t w = write(fd, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        err = errno;
        return false;
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }
  bool Deflate(const void* data, size_t n, int flush) {
    unsigned char out[1 << 16];
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<void*>(data));
    zs.avail_in = static_cast<uInt>(n);
    do {
      zs.next_out = out;
      zs.avail_out = sizeof out;
      int rc = deflate(&zs, flush);
      if (rc == Z_STREAM_ERROR) return false;
      if (!Emit(out, sizeof out - zs.avail_out)) return false;
    } while (zs.avail_out == 0);
    return true;
  }
};

la_ssize_t ArchiveWrite(struct archive*, void* ud, const void* buf, size_t n) {
  auto* s = static_cast<GzipSink*>(ud);
  s->tar_hash.Update(buf, n);
  if (!s->Deflate(buf, n, Z_NO_FLUSH)) return -1;
  return static_cast<la_ssize_t>(n);
}

}  // namespace

Result<LayerInfo> WriteLayer(const std::string& dir, const std::string& out_path, const LayerOptions& opt) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::NotFound(dir + " is not a directory");
  std::vector<std::string> paths;  // relative, sorted
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    paths.push_back(it->path().lexically_relative(dir).string());
  if (ec) return Status::Io("walking " + dir + ": " + ec.message());
  std::sort(paths.begin(), paths.end());
  if (!opt.prefix.empty()) paths.insert(paths.begin(), "");  // "" = the directory itself, as `prefix`

  GzipSink sink;
  sink.fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (sink.fd < 0) return Status::Io("create " + out_path + ": " + strerror(errno));
  // windowBits 31: gzip wrapper, which is what OCI tar+gzip means.
  deflateInit2(&sink.zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);

  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  Status st;
  if (archive_write_open(a, &sink, nullptr, ArchiveWrite, nullptr) != ARCHIVE_OK)
    st = Status::Internal(std::string("archive_write_open: ") + archive_error_string(a));
  std::map<std::pair<dev_t, ino_t>, std::string> seen;  // hard links
  LayerInfo info;
  std::vector<char> buf(1 << 16);
  for (const auto& rel : paths) {
    if (!st.ok()) break;
    std::string full = rel.empty() ? dir : dir + "/" + rel;
    std::string name = opt.prefix.empty() ? rel : rel.empty() ? opt.prefix : opt.prefix + "/" + rel;
    struct stat sb;
    if (lstat(full.c_str(), &sb) != 0) {
      st = Status::Io("lstat " + full + ": " + strerror(errno));
      break;
    }
    if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode) && !S_ISLNK(sb.st_mode) && !S_ISFIFO(sb.st_mode)) continue;
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_copy_stat(e, &sb);
    archive_entry_set_uid(e, opt.uid >= 0 ? opt.uid : sb.st_uid);
    archive_entry_set_gid(e, opt.gid >= 0 ? opt.gid : sb.st_gid);
    archive_entry_set_uname(e, "");
    archive_entry_set_gname(e, "");
    archive_entry_set_dev(e, 0);
    archive_entry_set_ino(e, 0);
    archive_entry_set_nlink(e, 1);
    if (opt.zero_mtime) {
      archive_entry_set_mtime(e, 0, 0);
      archive_entry_unset_atime(e);
      archive_entry_unset_ctime(e);
    }
    bool data = false;
    if (S_ISLNK(sb.st_mode)) {
      std::string target(4096, '\0');
      ssize_t n = readlink(full.c_str(), target.data(), target.size());
      if (n < 0) {
        archive_entry_free(e);
        st = Status::Io("readlink " + full + ": " + strerror(errno));
        break;
      }
      target.resize(n);
      archive_entry_set_symlink(e, target.c_str());
      archive_entry_set_size(e, 0);
    } else if (S_ISREG(sb.st_mode)) {
      auto key = std::make_pair(sb.st_dev, sb.st_ino);
      auto it = sb.st_nlink > 1 ? seen.find(key) : seen.end();
      if (it != seen.end()) {
        archive_entry_set_hardlink(e, it->second.c_str());
        archive_entry_set_size(e, 0);
      } else {
        if (sb.st_nlink > 1) seen[key] = name;
        data = true;
      }
    } else {
      archive_entry_set_size(e, 0);
    }
    // ARCHIVE_WARN: a name the locale cannot translate (non-ASCII in "C", e.g. a
    // CA certificate's) is written as its bytes with a pax hdrcharset=BINARY
    // header for that entry; that is what we want, names are bytes.
    if (archive_write_header(a, e) < ARCHIVE_WARN) {
      st = Status::Internal("tar header for " + name + ": " + archive_error_string(a));
      archive_entry_free(e);
      break;
    }
    archive_entry_free(e);
    info.entries++;
    if (data) {
      int fd = open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0) {
        st = Status::Io("open " + full + ": " + strerror(errno));
        break;
      }
      int64_t left = sb.st_size;
      while (left > 0) {
        ssize_t n = read(fd, buf.data(), std::min<int64_t>(buf.size(), left));
        if (n <= 0) {
          st = Status::Io("read " + full + " (file changed while packing?)");
          break;
        }
        if (archive_write_data(a, buf.data(), n) != n) {
          st = Status::Io("writing layer: " + std::string(sink.err ? strerror(sink.err) : archive_error_string(a)));
          break;
        }
        left -= n;
      }
      close(fd);
    }
  }
  if (archive_write_close(a) != ARCHIVE_OK && st.ok())
    st = Status::Io("closing layer: " + std::string(sink.err ? strerror(sink.err) : archive_error_string(a)));
  archive_write_free(a);
  if (st.ok() && !sink.Deflate(nullptr, 0, Z_FINISH))
    st = Status::Io(std::string("writing layer: ") + strerror(sink.err ? sink.err : EIO));
  deflateEnd(&sink.zs);
  if (st.ok() && fsync(sink.fd) != 0 && errno != EINVAL) st = Status::Io(std::string("fsync layer: ") + strerror(errno));
  close(sink.fd);
  if (!st.ok()) {
    unlink(out_path.c_str());
    return st;
  }
  info.diff_id = sink.tar_hash.OciDigest();
  info.digest = sink.gz_hash.OciDigest();
  info.size = sink.gz_bytes;
  return info;
}

}  // namespace rv::oci
