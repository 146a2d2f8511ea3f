#include "strider/resources.h"

#include <gtest/gtest.h>

namespace rv::strider {
namespace {

TEST(Resources, ParsesMeminfo) {
  int64_t total = 0, avail = 0;
  ASSERT_TRUE(ParseMeminfo("MemTotal:       16384000 kB\nMemFree: 100 kB\nMemAvailable:    8192000 kB\n", &total,
                           &avail).ok());
  EXPECT_EQ(total, 16000);
  EXPECT_EQ(avail, 8000);
  EXPECT_FALSE(ParseMeminfo("MemTotal: 1 kB\n", &total, &avail).ok());
  EXPECT_FALSE(ParseMeminfo("garbage", &total, &avail).ok());
}

TEST(Resources, MeasuresThisMachine) {
  HostResources r("/", {});
  auto m = r.Measure();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_GT(m->capacity.ram_mb, 0);
  EXPECT_GT(m->free.ram_mb, 0);
  EXPECT_LE(m->free.ram_mb, m->capacity.ram_mb);
  EXPECT_GT(m->capacity.disk_mb, 0);
  EXPECT_LE(m->free.disk_mb, m->capacity.disk_mb);
  EXPECT_GE(m->capacity.cpu_millis, 1000);
}

TEST(Resources, OverrideIsCapacityAndFree) {
  HostResources r("/nonexistent-dir-is-not-measured", {4096, 10000, 2000});
  auto m = r.Measure();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->capacity.ram_mb, 4096);
  EXPECT_EQ(m->free.ram_mb, 4096);
  EXPECT_EQ(m->free.disk_mb, 10000);
  EXPECT_EQ(m->capacity.cpu_millis, 2000);
}

TEST(Resources, MissingDataDirIsAnError) {
  HostResources r("/nonexistent-dir-xyz", {1024, 0, 0});
  EXPECT_FALSE(r.Measure().ok());
}

}  // namespace
}  // namespace rv::strider
