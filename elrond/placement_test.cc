#include "elrond/placement.h"

#include <gtest/gtest.h>

namespace rv::elrond {
namespace {

HostView Host(const std::string& id, int64_t free_ram, const std::string& zone = "") {
  HostView h;
  h.id = id;
  h.up = true;
  h.capacity = {8192, 100000, 8000};
  h.free = {free_ram, 100000, 8000};
  if (!zone.empty()) {
    h.zone = zone;
    h.labels["zone"] = zone;
  }
  return h;
}

msg::JobSpec Job(const std::string& id, int64_t ram, const std::string& service = "") {
  msg::JobSpec j;
  j.id = id;
  j.service = service;
  j.resources = {ram, 100, 100};
  return j;
}

std::vector<const HostView*> Ptrs(const std::vector<HostView>& v) {
  std::vector<const HostView*> out;
  for (const auto& h : v) out.push_back(&h);
  return out;
}

TEST(Placement, ResourceFitNamesTheMissingResource) {
  HostView h = Host("h1", 1000);
  EXPECT_EQ(CheckFeasible(Job("j", 512), h), Verdict::kFits);
  EXPECT_EQ(CheckFeasible(Job("j", 2048), h), Verdict::kRam);
  auto disk = Job("j", 10);
  disk.resources.disk_mb = 200000;
  EXPECT_EQ(CheckFeasible(disk, h), Verdict::kDisk);
  auto cpu = Job("j", 10);
  cpu.resources.cpu_millis = 9000;
  EXPECT_EQ(CheckFeasible(cpu, h), Verdict::kCpu);
}

TEST(Placement, DownAndDrainedHostsGetNothing) {
  HostView h = Host("h1", 4096);
  h.up = false;
  EXPECT_EQ(CheckFeasible(Job("j", 1), h), Verdict::kDown);
  h.up = true;
  h.drained = true;
  EXPECT_EQ(CheckFeasible(Job("j", 1), h), Verdict::kDrained);
}

TEST(Placement, LabelConstraintsMustAllMatch) {
  HostView h = Host("h1", 4096);
  h.labels["role"] = "app";
  auto j = Job("build", 100);
  j.rules.constraints["role"] = "build";
  std::string detail;
  EXPECT_EQ(CheckFeasible(j, h, &detail), Verdict::kConstraint);
  EXPECT_EQ(detail, "role=build");
  h.labels["role"] = "build";
  EXPECT_EQ(CheckFeasible(j, h), Verdict::kFits);
  j.rules.constraints["ssd"] = "yes";
  EXPECT_EQ(CheckFeasible(j, h, &detail), Verdict::kConstraint);
  EXPECT_EQ(detail, "ssd=yes");
}

TEST(Placement, HaNeverPutsTwoReplicasOnOneHost) {
  HostView h = Host("h1", 4096);
  auto j = Job("web-2", 100, "web");
  j.rules.ha = true;
  EXPECT_EQ(CheckFeasible(j, h), Verdict::kFits);
  h.services["web"] = 1;  // placed or in flight: both count
  EXPECT_EQ(CheckFeasible(j, h), Verdict::kHa);
  j.rules.ha = false;     // without ha, sharing is allowed
  EXPECT_EQ(CheckFeasible(j, h), Verdict::kFits);
}

TEST(Placement, BinpackChoosesTightestFitSpreadTheRoomiest) {
  std::vector<HostView> hosts = {Host("a", 4000), Host("b", 1000), Host("c", 8000), Host("d", 500)};
  ZoneCounts zones;
  auto j = Job("j", 800);
  Choice bp = Select(j, Strategy::kBinpack, Ptrs(hosts), zones);
  EXPECT_EQ(hosts[bp.best].id, "b");  // d is too small, b leaves the least
  EXPECT_EQ(hosts[bp.fallback[0]].id, "a");
  EXPECT_EQ(hosts[bp.fallback[1]].id, "c");
  Choice sp = Select(j, Strategy::kSpread, Ptrs(hosts), zones);
  EXPECT_EQ(hosts[sp.best].id, "c");
  EXPECT_EQ(hosts[sp.fallback[0]].id, "a");
}

TEST(Placement, TiesBreakOnHostIdDeterministically) {
  std::vector<HostView> hosts = {Host("a", 2000), Host("m", 2000), Host("z", 2000)};
  ZoneCounts zones;
  Choice c = Select(Job("j", 100), Strategy::kBinpack, Ptrs(hosts), zones);
  EXPECT_EQ(hosts[c.best].id, "a");
  EXPECT_EQ(hosts[c.fallback[0]].id, "m");
  EXPECT_EQ(hosts[c.fallback[1]].id, "z");
}

TEST(Placement, ZoneSpreadPicksTheZoneWithFewestReplicas) {
  std::vector<HostView> hosts = {Host("a1", 1000, "a"), Host("a2", 2000, "a"), Host("b1", 8000, "b"),
                                 Host("c1", 3000, "c")};
  ZoneCounts zones;
  zones.Add("web", "a", 0);
  zones.Add("web", "b", 2);
  zones.Add("web", "c", 1);
  auto j = Job("web-4", 500, "web");
  j.rules.spread_zones = true;
  // Zone a has no replica: binpack inside it picks a1 although b1/c1 exist.
  Choice c = Select(j, Strategy::kBinpack, Ptrs(hosts), zones);
  EXPECT_EQ(hosts[c.best].id, "a1");
  zones.Add("web", "a", 3);
  c = Select(j, Strategy::kBinpack, Ptrs(hosts), zones);
  EXPECT_EQ(hosts[c.best].id, "c1");
  // A zone whose hosts cannot take the job does not count.
  hosts[3].free.ram_mb = 100;
  c = Select(j, Strategy::kBinpack, Ptrs(hosts), zones);
  EXPECT_EQ(hosts[c.best].id, "b1");
}

TEST(Placement, DeclinedHostsAreSkippedWithTheirReason) {
  std::vector<HostView> hosts = {Host("a", 4000), Host("b", 4000)};
  std::string why = "ram: want 800MB, free 10MB";
  std::vector<const std::string*> declined = {&why, nullptr};
  ZoneCounts zones;
  Choice c = Select(Job("j", 800), Strategy::kBinpack, Ptrs(hosts), zones, &declined);
  EXPECT_EQ(hosts[c.best].id, "b");
  hosts[1].free.ram_mb = 10;
  RejectTally tally;
  c = Select(Job("j", 800), Strategy::kBinpack, Ptrs(hosts), zones, &declined, &tally);
  EXPECT_EQ(c.best, -1);
  EXPECT_EQ(tally.Summary(Job("j", 800)), "no host: 1 declined (" + why + "), 1 lacks RAM");
}

TEST(Placement, AggregateReasonCountsEachRule) {
  std::vector<HostView> hosts = {Host("a", 100), Host("b", 100), Host("c", 100), Host("d", 4000),
                                 Host("e", 4000)};
  hosts[3].services["web"] = 1;
  hosts[4].services["web"] = 2;
  auto j = Job("web-3", 800, "web");
  j.rules.ha = true;
  RejectTally tally;
  ZoneCounts zones;
  Choice c = Select(j, Strategy::kBinpack, Ptrs(hosts), zones, nullptr, &tally);
  EXPECT_EQ(c.best, -1);
  EXPECT_EQ(tally.Summary(j), "no host: 3 lack RAM, 2 already run a replica of web (ha)");
  EXPECT_EQ(tally.total(), 5);
}

TEST(Placement, BiggestJobsFirst) {
  std::vector<msg::JobSpec> jobs = {Job("s", 100), Job("b", 4000), Job("m", 1000), Job("m2", 1000)};
  std::sort(jobs.begin(), jobs.end(), BiggerFirst);
  EXPECT_EQ(jobs[0].id, "b");
  EXPECT_EQ(jobs[1].id, "m");
  EXPECT_EQ(jobs[2].id, "m2");
  EXPECT_EQ(jobs[3].id, "s");
}

TEST(Placement, StrategyParsing) {
  EXPECT_EQ(ParseStrategy("spread", Strategy::kBinpack), Strategy::kSpread);
  EXPECT_EQ(ParseStrategy("", Strategy::kSpread), Strategy::kSpread);
  EXPECT_EQ(ParseStrategy("bogus", Strategy::kBinpack), Strategy::kBinpack);
}

}  // namespace
}  // namespace rv::elrond
