// Needs root (mknod for whiteouts, trusted.* xattrs, chown).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "strider/container/layer_unpacker.h"
#include "strider/container/test_util.h"

namespace rv::container {
namespace fs = std::filesystem;
using testing::TarEntry;
using testing::WriteTar;

class UnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    dir_ = fs::temp_directory_path() / ("rvunpack." + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Status Unpack(const std::vector<TarEntry>& e, const std::string& name = "l", UnpackOptions opt = {}) {
    std::string tar = (dir_ / (name + ".tgz")).string();
    EXPECT_TRUE(WriteTar(tar, e));
    return UnpackLayer(tar, (dir_ / name).string(), opt);
  }
  fs::path dir_;
};

TEST_F(UnpackTest, FilesDirsLinksOwnersModes) {
  Status s = Unpack({{"bin/", 'd', "", 0755},
                     {"bin/app", 'f', "hello", 04755, 10, 20},
                     {"bin/app2", 'h', "bin/app"},
                     {"run", 'l', "bin/app"},
                     {"abs", 'l', "/bin/app"},
                     {"./etc/conf", 'f', "x=1", 0600}});
  ASSERT_TRUE(s.ok()) << s.ToString();
  struct stat st;
  ASSERT_EQ(lstat((dir_ / "l/bin/app").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  EXPECT_EQ(st.st_uid, 10u);
  EXPECT_EQ(st.st_gid, 20u);
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_EQ(st.st_mtime, 1000);
  EXPECT_EQ(fs::read_symlink(dir_ / "l/run"), "bin/app");
  EXPECT_EQ(fs::read_symlink(dir_ / "l/abs"), "/bin/app");
  ASSERT_EQ(lstat((dir_ / "l/etc/conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(UnpackTest, WhiteoutsBecomeOverlayForm) {
  ASSERT_TRUE(Unpack({{"etc/", 'd'}, {"etc/.wh.passwd", 'f'}, {"var/", 'd'}, {"var/.wh..wh..opq", 'f'}}).ok());
  struct stat st;
  ASSERT_EQ(lstat((dir_ / "l/etc/passwd").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_FALSE(fs::exists(dir_ / "l/etc/.wh.passwd"));
  char v[4] = {};
  EXPECT_EQ(getxattr((dir_ / "l/var").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');
}

TEST_F(UnpackTest, RefusesDotDotPaths) {
  Status s = Unpack({{"../escape", 'f', "pwned"}});
  EXPECT_EQ(s.code(), Status::Code::kInvalid);
  EXPECT_NE(s.message().find(".."), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "escape"));
  EXPECT_EQ(Unpack({{"a/../../escape2", 'f', "x"}}, "l2").code(), Status::Code::kInvalid);
  EXPECT_FALSE(fs::exists(dir_ / "escape2"));
  EXPECT_EQ(Unpack({{"/abs/file", 'f', "x"}}, "l3").code(), Status::Code::kInvalid);
}

TEST_F(UnpackTest, NeverWritesThroughSymlinks) {
  fs::create_directories(dir_ / "outside");
  // Absolute symlink to a host dir, then a file "inside" it.
  Status s = Unpack({{"evil", 'l', (dir_ / "outside").string()}, {"evil/pwned", 'f', "x"}});
  EXPECT_EQ(s.code(), Status::Code::kInvalid) << s.ToString();
  EXPECT_FALSE(fs::exists(dir_ / "outside/pwned"));
  // Relative symlink that climbs out.
  s = Unpack({{"up", 'l', "../../../../../.."}}, "l2");
  EXPECT_EQ(s.code(), Status::Code::kInvalid);
  EXPECT_NE(s.message().find("escapes"), std::string::npos);
  // Strict mode refuses absolute symlinks outright.
  UnpackOptions strict;
  strict.allow_absolute_symlinks = false;
  s = Unpack({{"etc-link", 'l', "/etc"}}, "l3", strict);
  EXPECT_EQ(s.code(), Status::Code::kInvalid);
  EXPECT_NE(s.message().find("absolute symlink"), std::string::npos);
}

TEST_F(UnpackTest, RefusesEscapingHardlinks) {
  EXPECT_EQ(Unpack({{"h", 'h', "/etc/shadow"}}).code(), Status::Code::kInvalid);
  EXPECT_EQ(Unpack({{"h", 'h', "../../etc/shadow"}}, "l2").code(), Status::Code::kInvalid);
  // A hardlink through an absolute symlink dir to a host file.
  Status s = Unpack({{"d", 'l', "/etc"}, {"h", 'h', "d/passwd"}}, "l3");
  EXPECT_EQ(s.code(), Status::Code::kInvalid) << s.ToString();
  EXPECT_FALSE(fs::exists(dir_ / "l3/h"));
}

TEST_F(UnpackTest, CorruptAndTruncated) {
  std::string tar = (dir_ / "t.tgz").string();
  ASSERT_TRUE(WriteTar(tar, {{"big", 'f', std::string(200000, 'z') + "tail"}}));
  fs::resize_file(tar, fs::file_size(tar) / 2);
  Status s = UnpackLayer(tar, (dir_ / "t").string());
  EXPECT_EQ(s.code(), Status::Code::kInvalid) << s.ToString();
  std::ofstream(dir_ / "garbage") << "this is not a tar file at all, not even close";
  s = UnpackLayer((dir_ / "garbage").string(), (dir_ / "g").string());
  EXPECT_EQ(s.code(), Status::Code::kInvalid) << s.ToString();
}

TEST_F(UnpackTest, DevicesSkipped) {
  UnpackStats st;
  std::string tar = (dir_ / "d.tgz").string();
  ASSERT_TRUE(WriteTar(tar, {{"dev/", 'd'}, {"dev/sda", 'c'}}));
  ASSERT_TRUE(UnpackLayer(tar, (dir_ / "d").string(), {}, &st).ok());
  EXPECT_EQ(st.skipped, 1);
  EXPECT_FALSE(fs::exists(dir_ / "d/dev/sda"));
}

}  // namespace rv::container
