#include "strider/journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace rv::strider {
namespace {

namespace fs = std::filesystem;

JournalEntry Entry(const std::string& id, int64_t attempt) {
  JournalEntry e;
  e.spec.id = id;
  e.spec.image = "acme/web:1";
  e.spec.env = "acme/prod";
  e.spec.resources.ram_mb = 64;
  e.spec.restart = "always";
  e.spec.config["MODE"] = "prod";
  e.attempt = attempt;
  e.image_digest = "sha256:abc";
  e.overlay_address = "10.1.2.3";
  e.sealed_env = std::string("\x01\x02sealed", 8);
  return e;
}

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/rv-journal-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { fs::remove_all(path); }
};

TEST(JournalCodec, RoundTripsEveryField) {
  auto d = DecodeJournalEntry(EncodeJournalEntry(Entry("j1", 3)));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->spec.id, "j1");
  EXPECT_EQ(d->attempt, 3);
  EXPECT_EQ(d->spec.restart, "always");
  EXPECT_EQ(d->spec.config.at("MODE"), "prod");
  EXPECT_EQ(d->image_digest, "sha256:abc");
  EXPECT_EQ(d->overlay_address, "10.1.2.3");
  EXPECT_EQ(d->sealed_env, std::string("\x01\x02sealed", 8));
}

TEST(JournalCodec, RefusesATruncatedEntry) {
  std::string b = EncodeJournalEntry(Entry("j1", 1));
  for (size_t cut : {size_t(0), size_t(5), size_t(70), b.size() - 1}) {
    auto d = DecodeJournalEntry(b.substr(0, cut));
    EXPECT_FALSE(d.ok()) << "cut at " << cut;
  }
}

TEST(JournalCodec, RefusesEveryFlippedByte) {
  std::string b = EncodeJournalEntry(Entry("j1", 1));
  for (size_t i = 0; i < b.size(); ++i) {
    std::string c = b;
    c[i] ^= 0x20;
    EXPECT_FALSE(DecodeJournalEntry(c).ok()) << "byte " << i;
  }
}

TEST(JournalCodec, RefusesAnEntryWithoutJobOrAttempt) {
  EXPECT_FALSE(DecodeJournalEntry(EncodeJournalEntry(Entry("", 1))).ok());
  EXPECT_FALSE(DecodeJournalEntry(EncodeJournalEntry(Entry("j", 0))).ok());
}

TEST(JournalCodec, RefusesGarbageAndHugeInput) {
  EXPECT_FALSE(DecodeJournalEntry("").ok());
  EXPECT_FALSE(DecodeJournalEntry("hello\n").ok());
  EXPECT_FALSE(DecodeJournalEntry(std::string(5u << 20, 'x')).ok());
}

TEST(Journal, PutLoadRemove) {
  TempDir t;
  Journal j(t.path + "/journal");
  ASSERT_TRUE(j.Open().ok());
  ASSERT_TRUE(j.Put(Entry("a", 1)).ok());
  ASSERT_TRUE(j.Put(Entry("b", 2)).ok());
  ASSERT_TRUE(j.Put(Entry("a", 4)).ok());  // a newer attempt replaces the entry
  auto l = j.Load();
  ASSERT_EQ(l.entries.size(), 2u);
  EXPECT_TRUE(l.corrupt.empty());
  for (auto& e : l.entries) EXPECT_EQ(e.attempt, e.spec.id == "a" ? 4 : 2);
  ASSERT_TRUE(j.Remove("a").ok());
  ASSERT_TRUE(j.Remove("never-there").ok());
  EXPECT_EQ(j.Load().entries.size(), 1u);
}

TEST(Journal, CorruptEntryIsReportedAndSetAsideTheRestLoads) {
  TempDir t;
  Journal j(t.path);
  ASSERT_TRUE(j.Open().ok());
  ASSERT_TRUE(j.Put(Entry("good", 1)).ok());
  ASSERT_TRUE(j.Put(Entry("bad", 1)).ok());
  {
    std::fstream f(j.PathOf("bad"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-3, std::ios::end);
    f.write("XYZ", 3);
  }
  std::ofstream(t.path + "/junk.entry") << "not a journal";
  std::ofstream(j.PathOf("half") + ".tmp") << "rvjournal 1 ";  // a Put cut by a crash
  auto l = j.Load();
  ASSERT_EQ(l.entries.size(), 1u);
  EXPECT_EQ(l.entries[0].spec.id, "good");
  ASSERT_EQ(l.corrupt.size(), 2u);
  EXPECT_TRUE(fs::exists(j.PathOf("bad") + ".corrupt"));
  EXPECT_FALSE(fs::exists(j.PathOf("bad")));
  EXPECT_FALSE(fs::exists(j.PathOf("half") + ".tmp"));
  // Set aside once: the next load is clean.
  auto again = j.Load();
  EXPECT_EQ(again.entries.size(), 1u);
  EXPECT_TRUE(again.corrupt.empty());
}

TEST(Journal, AnEntryRenamedToAnotherJobsFileIsRefused) {
  TempDir t;
  Journal j(t.path);
  ASSERT_TRUE(j.Open().ok());
  ASSERT_TRUE(j.Put(Entry("x", 1)).ok());
  fs::rename(j.PathOf("x"), j.PathOf("y"));
  auto l = j.Load();
  EXPECT_TRUE(l.entries.empty());
  EXPECT_EQ(l.corrupt.size(), 1u);
}

}  // namespace
}  // namespace rv::strider
