#include <gtest/gtest.h>
#include <unistd.h>

#include <mutex>

#include <filesystem>

#include "strider/container/log_file.h"

namespace rv::container {

TEST(LogFile, RotatesAndBounds) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("rvlog." + std::to_string(getpid()));
  fs::create_directories(dir);
  {
    LogFile log((dir / "console.log").string(), 1000, 2);
    std::string line(99, 'x');
    line += '\n';
    for (int i = 0; i < 100; i++) ASSERT_TRUE(log.Append(line.data(), line.size()).ok());
    EXPECT_GE(log.rotations(), 9);
  }
  EXPECT_LE(fs::file_size(dir / "console.log"), 1000u);
  EXPECT_EQ(fs::file_size(dir / "console.log.1"), 1000u);
  EXPECT_TRUE(fs::exists(dir / "console.log.2"));
  EXPECT_FALSE(fs::exists(dir / "console.log.3"));
  fs::remove_all(dir);
}

}  // namespace rv::container

#include <atomic>
#include <thread>

#include "strider/container/log_follow.h"

namespace rv::container {

TEST(FollowLog, TailThenFollowAcrossRotation) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("rvfollow." + std::to_string(getpid()));
  fs::create_directories(dir);
  std::string path = (dir / "console.log").string();
  LogFile log(path, 100, 2);
  std::string old = "old-line-that-is-not-in-the-tail\n";
  ASSERT_TRUE(log.Append(old.data(), old.size()).ok());
  std::string got;
  std::mutex mu;
  std::atomic<bool> stop{false};
  std::thread t([&] {
    FollowLog(path, 5, [&](const std::string& s) { std::lock_guard<std::mutex> l(mu); got += s; },
              [&] { return stop.load(); }, 5);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::string expect;
  for (int i = 0; i < 20; i++) {  // 20 * 12 bytes: rotates twice at 100 bytes
    std::string line = "line-" + std::to_string(100000 + i) + "\n";
    ASSERT_TRUE(log.Append(line.data(), line.size()).ok());
    expect += line;
    std::this_thread::sleep_for(std::chrono::milliseconds(15));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop = true;
  t.join();
  EXPECT_EQ(got, "tail\n" + expect);
  fs::remove_all(dir);
}

}  // namespace rv::container
