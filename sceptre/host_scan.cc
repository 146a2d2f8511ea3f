#include "sceptre/host_scan.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/crypto/sha256.h"
#include "strider/container/container_runtime.h"
#include "strider/container/netns.h"
#include "strider/journal.h"

namespace rv::sceptre {

namespace fs = std::filesystem;

namespace {

std::set<std::string> MountPoints() {
  std::set<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string id, parent, dev, root, mp;
    ls >> id >> parent >> dev >> root >> mp;
    // mountinfo escapes spaces as \040; our paths have none.
    out.insert(mp);
  }
  return out;
}

bool FileMatchesDigest(const std::string& path, const std::string& hex) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  crypto::Sha256 h;
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof buf);
    if (in.gcount() > 0) h.Update(std::string_view(buf, static_cast<size_t>(in.gcount())));
  }
  return h.HexDigest() == hex;
}

}  // namespace

std::string HostScan::NetnsName(const std::string& id) const {
  return id + "-" + crypto::Sha256Hex(p_.run_dir).substr(0, 6);
}

Observed HostScan::Observe() {
  Observed o;
  std::error_code ec;
  o.run_dir_present = fs::exists(p_.run_dir + "/runc", ec);
  std::map<std::string, ContainerObs> by_id;
  auto obs = [&](const std::string& id) -> ContainerObs& {
    auto& c = by_id[id];
    c.id = id;
    return c;
  };
  for (auto& e : fs::directory_iterator(p_.state_dir + "/containers", ec)) obs(e.path().filename().string()).has_dir = true;
  for (auto& e : fs::directory_iterator(p_.run_dir + "/bundles", ec)) obs(e.path().filename().string()).has_bundle = true;
  for (auto& e : fs::directory_iterator(p_.run_dir + "/runc", ec)) obs(e.path().filename().string()).has_runc_state = true;
  // Appended, not "-" + ...: GCC 12 warns falsely (-Wrestrict) on that.
  std::string suffix = "-";
  suffix += crypto::Sha256Hex(p_.run_dir).substr(0, 6);
  for (auto& e : fs::directory_iterator(p_.netns_dir, ec)) {
    std::string n = e.path().filename().string();
    if (n.rfind("rv-", 0) == 0 && n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
      obs(n.substr(0, n.size() - suffix.size())).has_netns = true;
  }
  if (!p_.cgroup_parent.empty()) {
    for (auto& h : fs::directory_iterator(p_.cgroup_root, ec)) {
      std::error_code ec2;
      for (auto& e : fs::directory_iterator(h.path().string() + p_.cgroup_parent, ec2)) {
        if (e.is_directory(ec2)) obs(e.path().filename().string()).has_cgroup = true;
      }
    }
  }
  auto mounts = MountPoints();
  for (auto& [id, c] : by_id) {
    c.has_mount = mounts.count(p_.state_dir + "/containers/" + id + "/rootfs") > 0;
    if (c.has_runc_state) c.alive = container::RuncStateAlive(p_.run_dir + "/runc/" + id + "/state.json");
  }
  // The journal: unfinished writes first (Load would drop them silently).
  std::string jdir = p_.data_dir + "/journal";
  for (auto& e : fs::directory_iterator(jdir, ec))
    if (e.path().extension() == ".tmp") o.journal_tmp.push_back(e.path().string());
  strider::Journal journal(jdir);
  if (fs::exists(jdir, ec)) {
    auto l = journal.Load();
    journal_corrupt_ = l.corrupt;
    o.journal_entries = static_cast<int>(l.entries.size());
    o.journal_corrupt = static_cast<int>(l.corrupt.size());
    for (const auto& e : l.entries) {
      journal_jobs_.push_back(e.spec.id);
      std::string id = container::ContainerIdFor(e.spec.id);
      if (by_id.count(id)) by_id[id].in_journal = true;
    }
  }
  for (auto& [id, c] : by_id) o.containers.push_back(c);
  // The image store.
  std::string images = p_.state_dir + "/images";
  for (auto& e : fs::directory_iterator(images + "/tmp", ec)) o.image_tmp.push_back(e.path().string());
  std::set<std::string> blobs;
  for (auto& e : fs::directory_iterator(images + "/blobs/sha256", ec)) {
    std::string hex = e.path().filename().string();
    blobs.insert(hex);
    if (!FileMatchesDigest(e.path().string(), hex)) o.corrupt_blobs.push_back(e.path().string());
  }
  for (auto& e : fs::directory_iterator(images + "/layers", ec)) {
    if (!blobs.count(e.path().filename().string())) o.orphan_layers.push_back(e.path().string());
  }
  // A corrupt blob's layer cannot be trusted either.
  for (const auto& b : o.corrupt_blobs) {
    std::string layer = images + "/layers/" + fs::path(b).filename().string();
    if (fs::exists(layer, ec)) o.orphan_layers.push_back(layer);
  }
  // Lock files nobody holds.
  for (auto it = fs::recursive_directory_iterator(p_.data_dir, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it.depth() > 2) it.disable_recursion_pending();
    if (it->path().extension() != ".lock" || !it->is_regular_file(ec)) continue;
    int fd = open(it->path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) o.stale_locks.push_back(it->path().string());
    close(fd);
  }
  return o;
}

std::vector<Done> HostScan::Apply(const Plan& plan) {
  std::vector<Done> out;
  for (const auto& a : plan.actions) {
    Done d{a, true, ""};
    std::error_code ec;
    switch (a.kind) {
      case ActionKind::kRuncDelete: {
        Status s = container::RunTool({p_.runc, "--root", p_.run_dir + "/runc", "delete", "--force", a.target}, nullptr, 5000);
        if (!s.ok()) {
          // runc cannot delete state whose cgroup or process is gone oddly: drop the state dir.
          fs::remove_all(p_.run_dir + "/runc/" + a.target, ec);
          if (ec) d.ok = false, d.error = s.message();
        }
        break;
      }
      case ActionKind::kUnmount: {
        std::string rootfs = p_.state_dir + "/containers/" + a.target + "/rootfs";
        bool any = false;
        for (int i = 0; i < 4 && umount2(rootfs.c_str(), MNT_DETACH) == 0; i++) any = true;
        if (!any) d.ok = false, d.error = std::string("umount: ") + strerror(errno);
        break;
      }
      case ActionKind::kDeleteNetns: {
        Status s = container::DeleteNetns(NetnsName(a.target));
        if (!s.ok()) d.ok = false, d.error = s.message();
        break;
      }
      case ActionKind::kRemoveCgroup: {
        for (auto& h : fs::directory_iterator(p_.cgroup_root, ec)) {
          std::string base = h.path().string() + p_.cgroup_parent + "/" + a.target;
          rmdir((base + "/c").c_str());
          rmdir(base.c_str());
        }
        break;
      }
      case ActionKind::kRemoveBundle:
        fs::remove_all(p_.run_dir + "/bundles/" + a.target, ec);
        if (ec) d.ok = false, d.error = ec.message();
        break;
      case ActionKind::kRemovePath: {
        std::string path = a.target.rfind("container:", 0) == 0 ? p_.state_dir + "/containers/" + a.target.substr(10)
                                                                : a.target;
        fs::remove_all(path, ec);
        if (ec) d.ok = false, d.error = ec.message();
        break;
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace rv::sceptre
