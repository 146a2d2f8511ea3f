#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "common/crypto/sha256.h"
#include "common/oci/image.h"
#include "common/oci/layer_writer.h"
#include "common/oci/reference.h"

namespace rv::oci {

TEST(Reference, Parses) {
  auto r = ParseReference("127.0.0.1:5000/acme/web:v3");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->registry, "127.0.0.1:5000");
  EXPECT_EQ(r->repo, "acme/web");
  EXPECT_EQ(r->tag, "v3");
  r = ParseReference("stack/busybox");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->registry, "");
  EXPECT_EQ(r->tag, "latest");
  std::string d = "sha256:" + std::string(64, 'a');
  r = ParseReference("localhost/x@" + d);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ManifestRef(), d);
  EXPECT_EQ(r->ToString(), "localhost/x@" + d);
}

TEST(Reference, RefusesTricks) {
  for (const char* bad : {"", "acme/../etc:v1", "acme//web", "ACME/web", "acme/web:", "acme/web:bad/tag",
                          "acme/web@sha256:xyz", "/abs/path", "acme/web:.hidden", "acme/web:v1?x=1"})
    EXPECT_FALSE(ParseReference(bad).ok()) << bad;
}

TEST(Manifest, ParsesAndValidates) {
  std::string d1 = "sha256:" + std::string(64, '1'), d2 = "sha256:" + std::string(64, '2');
  std::string body = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" + d1 + R"(","size":10},
    "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" + d2 + R"(","size":20}]})";
  auto m = ParseManifest(body);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].size, 20);
  auto again = ParseManifest(SerializeManifest(*m));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->config.digest, d1);

  EXPECT_FALSE(ParseManifest("not json").ok());
  EXPECT_FALSE(ParseManifest("[]").ok());
  std::string bad_digest = body;
  bad_digest.replace(bad_digest.find(d2), d2.size(), "sha256:../../../../etc/passwd");
  EXPECT_FALSE(ParseManifest(bad_digest).ok());
  std::string neg = body;
  neg.replace(neg.find("\"size\":20"), 9, "\"size\":-5");
  EXPECT_FALSE(ParseManifest(neg).ok());
  std::string weird = body;
  weird.replace(weird.find("tar+gzip"), 8, "x-evil");
  EXPECT_FALSE(ParseManifest(weird).ok());
}

TEST(Index, SelectsAmd64) {
  std::string d1 = "sha256:" + std::string(64, '1'), d2 = "sha256:" + std::string(64, '2');
  auto idx = ParseIndex(R"({"manifests":[
    {"mediaType":"x","digest":")" + d1 + R"(","size":1,"platform":{"os":"linux","architecture":"arm64"}},
    {"mediaType":"x","digest":")" + d2 + R"(","size":1,"platform":{"os":"linux","architecture":"amd64"}}]})");
  ASSERT_TRUE(idx.ok());
  auto d = SelectPlatform(*idx);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->digest, d2);
}

TEST(ImageConfig, Parses) {
  auto c = ParseImageConfig(R"({"config":{"Env":["A=1"],"Cmd":["httpd"],"User":"1000",
    "ExposedPorts":{"8080/tcp":{}},"Labels":{"k":"v"}},"rootfs":{"type":"layers","diff_ids":[]}})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->cmd[0], "httpd");
  EXPECT_EQ(c->exposed_ports[0], "8080/tcp");
  EXPECT_EQ(c->labels["k"], "v");
  EXPECT_FALSE(ParseImageConfig(R"({"rootfs":{"diff_ids":["md5:x"]}})").ok());
}

TEST(LayerWriter, DeterministicAndReadable) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("rvlayer." + std::to_string(getpid()));
  fs::create_directories(dir / "src/bin");
  std::ofstream(dir / "src/bin/app") << "#!/bin/sh\necho hi\n";
  chmod((dir / "src/bin/app").c_str(), 0755);
  fs::create_symlink("bin/app", dir / "src/run");
  fs::create_hard_link(dir / "src/bin/app", dir / "src/bin/app2");
  auto a = WriteLayer((dir / "src").string(), (dir / "a.tgz").string());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = WriteLayer((dir / "src").string(), (dir / "b.tgz").string());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->digest, b->digest);
  EXPECT_EQ(a->diff_id, b->diff_id);
  EXPECT_NE(a->digest, a->diff_id);
  EXPECT_EQ(*crypto::Sha256File((dir / "a.tgz").string()), a->digest);
  EXPECT_EQ(a->size, static_cast<int64_t>(fs::file_size(dir / "a.tgz")));

  struct archive* ar = archive_read_new();
  archive_read_support_filter_gzip(ar);
  archive_read_support_format_tar(ar);
  ASSERT_EQ(archive_read_open_filename(ar, (dir / "a.tgz").c_str(), 1 << 16), ARCHIVE_OK);
  struct archive_entry* e;
  std::set<std::string> names;
  bool saw_link = false, saw_hard = false;
  while (archive_read_next_header(ar, &e) == ARCHIVE_OK) {
    names.insert(archive_entry_pathname(e));
    if (archive_entry_symlink(e)) saw_link = std::string(archive_entry_symlink(e)) == "bin/app";
    if (archive_entry_hardlink(e)) saw_hard = true;
    EXPECT_EQ(archive_entry_uid(e), 0);
    EXPECT_EQ(archive_entry_mtime(e), 0);
  }
  archive_read_free(ar);
  EXPECT_TRUE(names.count("bin/app"));
  EXPECT_TRUE(saw_link);
  EXPECT_TRUE(saw_hard);
  EXPECT_FALSE(WriteLayer((dir / "nope").string(), (dir / "c.tgz").string()).ok());
  fs::remove_all(dir);
}

TEST(LayerWriter, PrefixPutsTheDirectoryAndEveryEntryUnderIt) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("rvlayerp." + std::to_string(getpid()));
  fs::create_directories(dir / "src/sub");
  std::ofstream(dir / "src/sub/f") << "x";
  fs::create_hard_link(dir / "src/sub/f", dir / "src/g");
  LayerOptions o;
  o.prefix = "app";
  o.uid = o.gid = 10000;
  auto a = WriteLayer((dir / "src").string(), (dir / "a.tgz").string(), o);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  struct archive* ar = archive_read_new();
  archive_read_support_filter_gzip(ar);
  archive_read_support_format_tar(ar);
  ASSERT_EQ(archive_read_open_filename(ar, (dir / "a.tgz").c_str(), 1 << 16), ARCHIVE_OK);
  struct archive_entry* e;
  std::vector<std::string> names;
  std::string hard;
  while (archive_read_next_header(ar, &e) == ARCHIVE_OK) {
    names.push_back(archive_entry_pathname(e));
    if (archive_entry_hardlink(e)) hard = archive_entry_hardlink(e);
    EXPECT_EQ(archive_entry_uid(e), 10000);
  }
  archive_read_free(ar);
  EXPECT_EQ(names, (std::vector<std::string>{"app/", "app/g", "app/sub/", "app/sub/f"}));
  EXPECT_EQ(hard, "app/g");
  fs::remove_all(dir);
}

TEST(LayerWriter, KeepsNonAsciiNamesAndLinkTargetsByteForByte) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("rvlayer8." + std::to_string(getpid()));
  const std::string utf8 = "F\xc5\x91tan\xc3\xbas\xc3\xadtv\xc3\xa1ny.pem", latin1 = "caf\xe9";
  fs::create_directories(dir / "src");
  std::ofstream(dir / "src" / utf8) << "cert\n";
  std::ofstream(dir / "src" / latin1) << "x\n";
  fs::create_symlink(utf8, dir / "src/link.0");
  auto a = WriteLayer((dir / "src").string(), (dir / "a.tgz").string());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  struct archive* ar = archive_read_new();
  archive_read_support_filter_gzip(ar);
  archive_read_support_format_tar(ar);
  ASSERT_EQ(archive_read_open_filename(ar, (dir / "a.tgz").c_str(), 1 << 16), ARCHIVE_OK);
  struct archive_entry* e;
  std::set<std::string> names;
  std::string target;
  while (archive_read_next_header(ar, &e) == ARCHIVE_OK) {
    names.insert(archive_entry_pathname(e));
    if (archive_entry_symlink(e)) target = archive_entry_symlink(e);
  }
  archive_read_free(ar);
  EXPECT_TRUE(names.count(utf8));
  EXPECT_TRUE(names.count(latin1));
  EXPECT_EQ(target, utf8);
  fs::remove_all(dir);
}

}  // namespace rv::oci
