#include <gtest/gtest.h>
#include <unistd.h>

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
