// Against a real docker-registry (scripts/registry) on a free loopback port.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/crypto/sha256.h"
#include "common/oci/image_writer.h"
#include "common/transport/test_ports.h"

namespace rv::oci {
namespace fs = std::filesystem;

namespace {
std::string Sh(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 256> buf;
  while (fgets(buf.data(), buf.size(), p)) out += buf.data();
  pclose(p);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}
int FreePort() { return transport::ReserveTestPort(); }
}  // namespace

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rvreg." + std::to_string(getpid()));
    fs::create_directories(dir_);
    port_ = FreePort();
    pid_ = Sh(std::string(RV_SOURCE_DIR) + "/scripts/registry start --dir " + (dir_ / "reg").string() +
               " --port " + std::to_string(port_));
    ASSERT_FALSE(pid_.empty()) << "registry did not start";
    RegistryClient::Options o;
    o.registry = "127.0.0.1:" + std::to_string(port_);
    client_ = std::make_unique<RegistryClient>(o);
  }
  void TearDown() override {
    if (!pid_.empty()) Sh(std::string(RV_SOURCE_DIR) + "/scripts/registry stop " + pid_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path MakeTree(const std::string& name, const std::string& content) {
    fs::path p = dir_ / name;
    fs::create_directories(p / "app");
    std::ofstream(p / "app/file.txt") << content;
    return p;
  }
  fs::path dir_;
  int port_ = 0;
  std::string pid_;
  std::unique_ptr<RegistryClient> client_;
};

TEST_F(RegistryTest, PushDirOverBaseAndResolve) {
  ASSERT_TRUE(client_->Ping().ok());
  PushDirOptions base;
  base.repo = "stack/test";
  base.tag = "1";
  base.cmd = {"/bin/sh"};
  base.labels["rivendell.content-hash"] = "abc";
  auto b = PushDir(*client_, MakeTree("base", "base").string(), base);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->uploaded_blobs, 2);

  PushDirOptions app;
  app.repo = "acme/web";
  app.tag = "v1";
  app.base = "stack/test:1";
  app.env = {"PORT=8080"};
  auto a = PushDir(*client_, MakeTree("app", "app").string(), app);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto img = ResolveImage(*client_, "acme/web", "v1");
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_EQ(img->manifest.layers.size(), 2u);
  EXPECT_EQ(img->config.cmd[0], "/bin/sh");  // inherited
  EXPECT_EQ(img->config.env.back(), "PORT=8080");
  EXPECT_EQ(img->config.labels["rivendell.content-hash"], "abc");
  EXPECT_EQ(img->manifest_digest, a->manifest_digest);
  // By digest too, and the digest is checked.
  EXPECT_TRUE(ResolveImage(*client_, "acme/web", a->manifest_digest).ok());

  // Same tree again: no bytes move.
  auto again = PushDir(*client_, (dir_ / "app").string(), app);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->uploaded_blobs, 0);
  EXPECT_EQ(again->manifest_digest, a->manifest_digest);
}

TEST_F(RegistryTest, ChunkedUploadAndVerifiedFetch) {
  RegistryClient::Options o;
  o.registry = "127.0.0.1:" + std::to_string(port_);
  o.chunk_bytes = 1000;
  RegistryClient chunked(o);
  std::string data(5000, 'x');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 7);
  std::string d = crypto::OciDigestOf(data);
  bool up = false;
  ASSERT_TRUE(chunked.PushBlob("t/blob", d, data, "", &up).ok());
  EXPECT_TRUE(up);
  EXPECT_TRUE(*client_->HasBlob("t/blob", d));
  EXPECT_FALSE(*client_->HasBlob("t/blob", crypto::OciDigestOf("other")));
  auto got = client_->GetBlob("t/blob", {"", d, 5000, "", "", {}});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, data);
  // Wrong size or wrong digest in the descriptor: refused.
  EXPECT_EQ(client_->GetBlob("t/blob", {"", d, 4000, "", "", {}}).status().code(), Status::Code::kInvalid);
  std::string path = (dir_ / "out").string();
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  Status s = client_->FetchBlob("t/blob", {"", d, 6000, "", "", {}}, fd);
  close(fd);
  EXPECT_EQ(s.code(), Status::Code::kInvalid) << s.ToString();
  EXPECT_NE(s.message().find("truncated"), std::string::npos) << s.ToString();
}

TEST_F(RegistryTest, NotFoundAndDown) {
  auto m = client_->GetManifest("nobody/nothing", "v1");
  EXPECT_EQ(m.status().code(), Status::Code::kNotFound);
  Sh(std::string(RV_SOURCE_DIR) + "/scripts/registry stop " + pid_);
  pid_.clear();
  auto down = client_->GetManifest("nobody/nothing", "v1");
  EXPECT_EQ(down.status().code(), Status::Code::kUnavailable) << down.status().ToString();
}

TEST_F(RegistryTest, ExportOciLayout) {
  PushDirOptions base;
  base.repo = "stack/test";
  base.tag = "1";
  ASSERT_TRUE(PushDir(*client_, MakeTree("base", "b").string(), base).ok());
  fs::path out = dir_ / "layout";
  ASSERT_TRUE(ExportOciLayout(*client_, "stack/test", "1", out.string(), "1").ok());
  EXPECT_TRUE(fs::exists(out / "index.json"));
  EXPECT_TRUE(fs::exists(out / "oci-layout"));
  int blobs = 0;
  for (auto& e : fs::directory_iterator(out / "blobs/sha256")) {
    blobs++;
    EXPECT_EQ(*crypto::Sha256File(e.path().string()), "sha256:" + e.path().filename().string());
  }
  EXPECT_EQ(blobs, 3);
}

TEST_F(RegistryTest, AnExportedLayoutImportsAsTheSameImageUnderAnotherName) {
  PushDirOptions base;
  base.repo = "stack/test";
  base.tag = "1";
  auto pushed = PushDir(*client_, MakeTree("base", "b").string(), base);
  ASSERT_TRUE(pushed.ok());
  fs::path out = dir_ / "layout";
  ASSERT_TRUE(ExportOciLayout(*client_, "stack/test", "1", out.string(), "1").ok());
  auto d = ImportOciLayout(*client_, out.string(), "stack/copy", "latest");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, pushed->manifest_digest);
  auto img = ResolveImage(*client_, "stack/copy", "latest");
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_EQ(img->manifest_digest, pushed->manifest_digest);
}

TEST_F(RegistryTest, ADamagedLayoutPushesNothing) {
  PushDirOptions base;
  base.repo = "stack/test";
  base.tag = "1";
  auto pushed = PushDir(*client_, MakeTree("base", "b").string(), base);
  ASSERT_TRUE(pushed.ok());
  fs::path out = dir_ / "layout";
  ASSERT_TRUE(ExportOciLayout(*client_, "stack/test", "1", out.string(), "1").ok());
  fs::path layer = out / "blobs/sha256" / pushed->layer.digest.substr(7);
  ASSERT_TRUE(fs::exists(layer));
  std::ofstream(layer, std::ios::app) << "x";
  auto d = ImportOciLayout(*client_, out.string(), "stack/broken", "latest");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("does not match"), std::string::npos) << d.status().message();
  EXPECT_EQ(client_->GetManifest("stack/broken", "latest").status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(ImportOciLayout(*client_, (dir_ / "nothing").string(), "stack/none", "latest").ok());
}

}  // namespace rv::oci
