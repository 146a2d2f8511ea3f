#include <gtest/gtest.h>

#include "strider/container/runtime_spec.h"

namespace rv::container {

TEST(RuntimeSpec, IsolationAndLimits) {
  SpecInput in;
  in.rootfs = "/x/rootfs";
  in.args = {"httpd", "-f"};
  in.env = {"A=1"};
  in.uid = 10000;
  in.gid = 10000;
  in.netns_path = "/var/run/netns/n1";
  in.cgroups_path = "/rivendell/c1";
  in.memory_bytes = 64 << 20;
  in.cpu_quota_us = 50000;
  in.pids_limit = 64;
  auto j = BuildRuntimeSpec(in);
  EXPECT_EQ(j["process"]["user"]["uid"], 10000);
  EXPECT_EQ(j["process"]["terminal"], false);
  EXPECT_EQ(j["process"]["noNewPrivileges"], true);
  for (const char* set : {"bounding", "effective", "permitted", "inheritable", "ambient"})
    EXPECT_TRUE(j["process"]["capabilities"][set].empty()) << set;
  std::set<std::string> ns;
  for (auto& n : j["linux"]["namespaces"]) ns.insert(n["type"]);
  EXPECT_EQ(ns, (std::set<std::string>{"pid", "ipc", "uts", "mount", "network"}));
  for (auto& n : j["linux"]["namespaces"]) {
    if (n["type"] == "network") {
      EXPECT_EQ(n["path"], "/var/run/netns/n1");
    }
  }
  EXPECT_EQ(j["linux"]["resources"]["memory"]["limit"], 64 << 20);
  EXPECT_EQ(j["linux"]["resources"]["memory"]["swap"], 64 << 20);
  EXPECT_EQ(j["linux"]["resources"]["pids"]["limit"], 64);
  EXPECT_EQ(j["linux"]["resources"]["cpu"]["quota"], 50000);
  EXPECT_EQ(j["linux"]["cgroupsPath"], "/rivendell/c1");
  bool nofile = false;
  for (auto& r : j["process"]["rlimits"])
    if (r["type"] == "RLIMIT_NOFILE") nofile = r["hard"] == 1024;
  EXPECT_TRUE(nofile);
  EXPECT_FALSE(j["linux"]["readonlyPaths"].empty());
  EXPECT_FALSE(j["linux"]["maskedPaths"].empty());
}

TEST(RuntimeSpec, BuildsGetAReadOnlyRootExtraMountsAndAFileSizeCap) {
  SpecInput in;
  in.rootfs = "/x/rootfs";
  in.args = {"/bin/sh"};
  in.readonly_rootfs = true;
  in.extra_mounts = {{"/app", "bind", "/w/app", {"rbind", "rw"}}, {"/tmp", "tmpfs", "tmpfs", {"size=64m"}}};
  in.fsize_bytes = 1 << 30;
  auto j = BuildRuntimeSpec(in);
  EXPECT_EQ(j["root"]["readonly"], true);
  int found = 0;
  for (auto& m : j["mounts"]) {
    if (m["destination"] == "/app") found += m["source"] == "/w/app" && m["type"] == "bind";
    if (m["destination"] == "/tmp") found += m["type"] == "tmpfs" && m["options"][0] == "size=64m";
  }
  EXPECT_EQ(found, 2);
  bool fsize = false;
  for (auto& r : j["process"]["rlimits"])
    if (r["type"] == "RLIMIT_FSIZE") fsize = r["hard"] == (1 << 30);
  EXPECT_TRUE(fsize);
  EXPECT_EQ(BuildRuntimeSpec(SpecInput{})["root"]["readonly"], false);
}

TEST(CpuLimits, TheReservationIsTheWeightAndAJobMayBurstToOneCore) {
  EXPECT_EQ(CpuLimitsFor(0).quota_us, 0);
  EXPECT_EQ(CpuLimitsFor(0).shares, 0);
  EXPECT_EQ(CpuLimitsFor(100).shares, 102);
  EXPECT_EQ(CpuLimitsFor(100).quota_us, 100000);   // one core
  EXPECT_EQ(CpuLimitsFor(500).shares, 512);
  EXPECT_EQ(CpuLimitsFor(2500).quota_us, 250000);  // more than a core: its reservation
  EXPECT_EQ(CpuLimitsFor(2500).shares, 2560);
  EXPECT_EQ(CpuLimitsFor(1).shares, 2);            // the kernel's minimum weight
}

}  // namespace rv::container
