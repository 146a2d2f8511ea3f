#include "strider/log_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/host_layout.h"
#include "strider/container/container_runtime.h"
#include "strider/container/log_file.h"

namespace rv::strider {
namespace {

namespace fs = std::filesystem;

class LogReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rv-logreader." + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "console.log").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Append(const std::string& s) { std::ofstream(path_, std::ios::app) << s; }
  // Reads from `cursor` until nothing new, in steps of `max` bytes.
  std::string ReadAll(msg::LogCursor* cursor, int64_t max, bool* gap = nullptr) {
    std::string all;
    for (int i = 0; i < 1000; ++i) {
      msg::LogChunk c = ReadLogChunk(path_, *cursor, 0, max);
      EXPECT_EQ(c.error, "");
      if (gap && c.gap) *gap = true;
      all += c.data;
      bool moved = c.next.ino != cursor->ino || c.next.offset != cursor->offset;
      *cursor = c.next;
      if (!moved && c.data.empty()) break;
    }
    return all;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(LogReaderTest, AFirstReadIsTheTailAndTheNextOneWhatWasAppendedSince) {
  Append("one\ntwo\nthree\n");
  msg::LogChunk first = ReadLogChunk(path_, {}, 6, 1024);
  EXPECT_EQ(first.data, "three\n");
  EXPECT_NE(first.next.ino, 0u);
  EXPECT_EQ(first.next.offset, 14);
  EXPECT_FALSE(first.gap);
  Append("four\n");
  msg::LogChunk next = ReadLogChunk(path_, first.next, 6, 1024);
  EXPECT_EQ(next.data, "four\n");
  EXPECT_EQ(next.next.offset, 19);
  EXPECT_EQ(ReadLogChunk(path_, next.next, 6, 1024).data, "") << "nothing new";
}

TEST_F(LogReaderTest, AStepNeverReturnsMoreThanItsMaximumAndTheRestFollows) {
  std::string body;
  for (int i = 0; i < 100; ++i) body += "line " + std::to_string(i) + "\n";
  Append(body);
  msg::LogChunk tail = ReadLogChunk(path_, {}, 1 << 20, 10);
  EXPECT_EQ(tail.data.size(), 10u) << "the tail is capped by the step's maximum";
  EXPECT_EQ(tail.data, body.substr(body.size() - 10));
  msg::LogCursor from_start{tail.next.ino, 0};
  EXPECT_EQ(ReadAll(&from_start, 7), body);
}

TEST_F(LogReaderTest, AfterARotationTheOldFilesRestComesBeforeTheNewFile) {
  container::LogFile log(path_, 100, 2);
  std::string line(19, 'a');
  line += '\n';
  ASSERT_TRUE(log.Append(line.data(), line.size()).ok());
  msg::LogCursor cursor = ReadLogChunk(path_, {}, 0, 1024).next;  // at the end, nothing read
  std::string written;
  for (int i = 0; i < 8; ++i) {  // 160 bytes: one rotation at 100
    std::string l = std::string(19, static_cast<char>('b' + i)) + "\n";
    written += l;
    ASSERT_TRUE(log.Append(l.data(), l.size()).ok());
  }
  ASSERT_EQ(log.rotations(), 1);
  bool gap = false;
  EXPECT_EQ(ReadAll(&cursor, 30, &gap), written);
  EXPECT_FALSE(gap);
}

TEST_F(LogReaderTest, ALogRotatedTwiceBetweenReadsSaysSoAndGoesOnFromTheNewFile) {
  container::LogFile log(path_, 100, 1);
  std::string line = std::string(19, 'a') + "\n";
  ASSERT_TRUE(log.Append(line.data(), line.size()).ok());
  msg::LogCursor cursor = ReadLogChunk(path_, {}, 0, 1024).next;
  // Held open so the filesystem cannot give its inode number to a new file
  // (a reader that sleeps through two rotations may meet such a reuse).
  std::ifstream keep_inode(path_);
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(log.Append(line.data(), line.size()).ok());  // 240 bytes: 2 rotations
  ASSERT_EQ(log.rotations(), 2);
  msg::LogChunk c = ReadLogChunk(path_, cursor, 0, 1024);
  EXPECT_TRUE(c.gap);
  std::ifstream in(path_);
  EXPECT_EQ(c.data, std::string(std::istreambuf_iterator<char>(in), {})) << "the new file, whole";
  EXPECT_EQ(static_cast<uintmax_t>(c.next.offset), fs::file_size(path_));
}

TEST_F(LogReaderTest, ATruncatedLogIsReadFromItsStartWithAGap) {
  Append("0123456789\n");
  msg::LogCursor cursor = ReadLogChunk(path_, {}, 0, 1024).next;
  std::ofstream(path_, std::ios::trunc) << "new\n";
  msg::LogChunk c = ReadLogChunk(path_, cursor, 0, 1024);
  EXPECT_TRUE(c.gap);
  EXPECT_EQ(c.data, "new\n");
}

TEST_F(LogReaderTest, NoLogYetIsAnErrorInTheChunkNotAFailure) {
  msg::LogChunk c = ReadLogChunk((dir_ / "absent.log").string(), {}, 100, 100);
  EXPECT_NE(c.error.find("no log yet"), std::string::npos);
  EXPECT_EQ(c.data, "");
}

TEST_F(LogReaderTest, AJobsLogIsItsContainersConsoleLogWhenItHasOneElseItsProcessLog) {
  std::string data = (dir_ / "data").string(), state = (dir_ / "state").string();
  EXPECT_EQ(LogPathOfJob(data, state, "web-1"), host_layout::ProcessLogPath(data, "web-1"));
  std::string cdir = host_layout::ContainerDir(state, container::ContainerIdFor("web-1"));
  fs::create_directories(cdir);
  std::ofstream(host_layout::ConsoleLogPath(cdir)) << "x";
  EXPECT_EQ(LogPathOfJob(data, state, "web-1"), host_layout::ConsoleLogPath(cdir));
}

}  // namespace
}  // namespace rv::strider
