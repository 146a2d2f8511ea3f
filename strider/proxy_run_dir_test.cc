#include "strider/proxy_run_dir.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace rv::strider {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A scratch dir with the proxy's run dir (`run`) and a host dir the
// container must never reach through it (`host`, holding `victim`).
class ProxyRunDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/rv-proxy-run-dir.XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    root_ = t;
    run_ = root_ + "/run";
    host_ = root_ + "/host";
    fs::create_directories(host_);
    std::ofstream(host_ + "/victim") << "host file\n";
    chmod(host_.c_str(), 0755);
    // As root, the proxy's user is another one, as in a pod; otherwise our own.
    uid_ = geteuid() == 0 ? 54321 : geteuid();
    gid_ = geteuid() == 0 ? 54321 : getegid();
  }
  void TearDown() override {
    for (int fd : listeners_) close(fd);
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  ProxyRunDir OpenRun() {
    auto d = ProxyRunDir::Open(run_, uid_, gid_);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? std::move(d).value() : ProxyRunDir();
  }
  // The host dir and its file are as SetUp left them.
  void ExpectHostUntouched() {
    struct stat st {};
    ASSERT_EQ(stat(host_.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, geteuid());
    EXPECT_EQ(st.st_mode & 07777, 0755u);
    EXPECT_EQ(Slurp(host_ + "/victim"), "host file\n");
    ASSERT_EQ(stat((host_ + "/victim").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, geteuid());
    int n = 0;
    for (const auto& e : fs::directory_iterator(host_)) n += e.path().filename() != "victim" && e.path().filename() != "other.sock";
    EXPECT_EQ(n, 0) << "a file was made in the host dir";
  }
  // A listening unix socket at `path`, answering each connection with `answer`.
  int Listen(const std::string& path) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << path;
    EXPECT_EQ(listen(fd, 4), 0);
    listeners_.push_back(fd);
    return fd;
  }

  std::string root_, run_, host_;
  uint32_t uid_ = 0, gid_ = 0;
  std::vector<int> listeners_;
};

TEST_F(ProxyRunDirTest, OpenMakesTheDirAndCertsOwnedByTheProxysUser) {
  ProxyRunDir d = OpenRun();
  for (const std::string& p : {run_, run_ + "/certs"}) {
    struct stat st {};
    ASSERT_EQ(lstat(p.c_str(), &st), 0) << p;
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << p;
    EXPECT_EQ(st.st_uid, uid_) << p;
    EXPECT_EQ(st.st_gid, gid_) << p;
    EXPECT_EQ(st.st_mode & 07777, 0700u) << p;
  }
}

TEST_F(ProxyRunDirTest, ACertsDirTheContainerSwappedForALinkIsMadeAgainNotFollowed) {
  { ProxyRunDir first = OpenRun(); }
  fs::remove_all(run_ + "/certs");
  fs::create_directory_symlink(host_, run_ + "/certs");
  ProxyRunDir d = OpenRun();  // a restart: the strider opens the dir again
  EXPECT_FALSE(fs::is_symlink(run_ + "/certs"));
  EXPECT_TRUE(fs::is_directory(run_ + "/certs"));
  ExpectHostUntouched();

  // Swapped again while the proxy runs: a write into certs/ still lands there.
  fs::remove_all(run_ + "/certs");
  fs::create_directory_symlink(host_, run_ + "/certs");
  ASSERT_TRUE(d.Write("certs/victim", "pem\n", 0600).ok());
  EXPECT_EQ(Slurp(run_ + "/certs/victim"), "pem\n");
  ExpectHostUntouched();
}

TEST_F(ProxyRunDirTest, WriteReplacesAPlantedLinkAndNeverFollowsIt) {
  ProxyRunDir d = OpenRun();
  fs::create_symlink(host_ + "/victim", run_ + "/haproxy.cfg");
  fs::create_symlink(host_ + "/victim", run_ + "/hosts.map.tmp");
  ASSERT_TRUE(d.Write("haproxy.cfg", "global\n", 0600).ok());
  ASSERT_TRUE(d.Write("hosts.map", "a.example app\n", 0600).ok());
  EXPECT_FALSE(fs::is_symlink(run_ + "/haproxy.cfg"));
  EXPECT_EQ(Slurp(run_ + "/haproxy.cfg"), "global\n");
  EXPECT_EQ(Slurp(run_ + "/hosts.map"), "a.example app\n");
  EXPECT_FALSE(fs::exists(run_ + "/hosts.map.tmp"));
  struct stat st {};
  ASSERT_EQ(stat((run_ + "/haproxy.cfg").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, uid_);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ExpectHostUntouched();
}

TEST_F(ProxyRunDirTest, RemoveTakesALinkAwayNotWhatItNames) {
  ProxyRunDir d = OpenRun();
  fs::create_symlink(host_ + "/victim", run_ + "/certs/old.pem");
  ASSERT_TRUE(d.Remove("certs/old.pem").ok());
  EXPECT_FALSE(fs::exists(fs::symlink_status(run_ + "/certs/old.pem")));
  EXPECT_TRUE(d.Remove("certs/never-there.pem").ok());
  ExpectHostUntouched();
}

TEST_F(ProxyRunDirTest, HasFileIsFalseForALinkToAFile) {
  ProxyRunDir d = OpenRun();
  fs::create_symlink(host_ + "/victim", run_ + "/fallback.pem");
  EXPECT_FALSE(d.HasFile("fallback.pem"));
  ASSERT_TRUE(d.Write("haproxy.cfg", "x", 0600).ok());
  EXPECT_TRUE(d.HasFile("haproxy.cfg"));
}

TEST_F(ProxyRunDirTest, NamesOutsideTheDirAreRefused) {
  ProxyRunDir d = OpenRun();
  for (const char* rel : {"../x", "certs/../../x", "/etc/x", "", "certs/", "a/b", "..", "certs/.."}) {
    EXPECT_EQ(d.Write(rel, "x", 0600).code(), Status::Code::kInvalid) << rel;
    EXPECT_FALSE(d.Remove(rel).ok()) << rel;
  }
  ExpectHostUntouched();
  EXPECT_FALSE(fs::exists(root_ + "/x"));
}

TEST_F(ProxyRunDirTest, AMasterSocketThatIsALinkToAnotherSocketIsRefused) {
  ProxyRunDir d = OpenRun();
  Listen(host_ + "/other.sock");  // say, another environment's proxy
  fs::create_symlink(host_ + "/other.sock", run_ + "/master.sock");
  auto r = d.MasterCommand("show proc", 500);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kDenied) << r.status().ToString();

  fs::remove(run_ + "/master.sock");
  std::ofstream(run_ + "/master.sock") << "not a socket";
  r = d.MasterCommand("show proc", 500);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kDenied);
}

TEST_F(ProxyRunDirTest, AMasterCommandGetsTheWholeAnswerOfTheRealSocket) {
  ProxyRunDir d = OpenRun();
  int l = Listen(run_ + "/master.sock");
  std::string got;
  std::thread master([&] {
    int c = accept(l, nullptr, nullptr);
    char buf[256];
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
    std::string answer = "1 master 0 [failed: 0]\n2 worker 0\n";
    (void)!write(c, answer.data(), answer.size());
    close(c);
  });
  auto r = d.MasterCommand("show proc", 2000);
  master.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "1 master 0 [failed: 0]\n2 worker 0\n");
  EXPECT_EQ(got, "show proc\n");
}

TEST_F(ProxyRunDirTest, AMasterThatDripsItsAnswerIsCutOffAtTheDeadline) {
  ProxyRunDir d = OpenRun();
  int l = Listen(run_ + "/master.sock");
  std::atomic<bool> stop{false};
  std::thread master([&] {
    int c = accept(l, nullptr, nullptr);
    for (int i = 0; i < 40 && !stop; i++) {  // a byte every 50 ms, bounded
      if (write(c, "x", 1) != 1) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    close(c);
  });
  auto t0 = std::chrono::steady_clock::now();
  auto r = d.MasterCommand("show proc", 300);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  stop = true;
  master.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_LT(ms, 1000);
}

TEST_F(ProxyRunDirTest, AMasterThatFloodsIsRefusedPastTheCap) {
  ProxyRunDir d = OpenRun();
  int l = Listen(run_ + "/master.sock");
  std::thread master([&] {
    int c = accept(l, nullptr, nullptr);
    std::string chunk(64 * 1024, 'y');
    for (size_t sent = 0; sent <= ProxyRunDir::kMaxAnswerBytes + chunk.size();) {
      ssize_t n = send(c, chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    close(c);
  });
  auto r = d.MasterCommand("show proc", 5000);
  master.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalid);
}

}  // namespace
}  // namespace rv::strider
