#include "strider/dispatch_workload.h"

#include <gtest/gtest.h>

namespace rv::strider {
namespace {

// Records which factory made the workload.
class TagFactory : public WorkloadFactory {
 public:
  explicit TagFactory(int* count) : count_(count) {}
  std::unique_ptr<Workload> Create(const msg::JobSpec&, StateCallback) override {
    ++*count_;
    return nullptr;
  }

 private:
  int* count_;
};

msg::JobSpec Spec(const std::string& image) {
  msg::JobSpec s;
  s.id = "web-1";
  s.image = image;
  return s;
}

TEST(DispatchWorkload, ImageJobsGoToContainersOthersToProcesses) {
  int procs = 0, conts = 0;
  DispatchWorkloadFactory f(std::make_shared<TagFactory>(&procs), std::make_shared<TagFactory>(&conts));
  f.Create(Spec(""), nullptr);
  f.Create(Spec("acme/web:v1"), nullptr);
  f.Create(Spec("acme/web:v2"), nullptr);
  EXPECT_EQ(procs, 1);
  EXPECT_EQ(conts, 2);
  EXPECT_TRUE(f.has_containers());
}

TEST(DispatchWorkload, WithoutRuntimeImageJobsFailWithTheReason) {
  int procs = 0;
  DispatchWorkloadFactory f(std::make_shared<TagFactory>(&procs), nullptr, "runc not found");
  EXPECT_FALSE(f.has_containers());
  std::vector<std::pair<RunState, std::string>> seen;
  auto w = f.Create(Spec("acme/web:v1"), [&](RunState st, const std::string& d) { seen.emplace_back(st, d); });
  ASSERT_NE(w, nullptr);
  Status s = w->Start(Spec("acme/web:v1"), {});
  EXPECT_FALSE(s.ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].first, RunState::kFailed);
  EXPECT_EQ(seen[0].second, "no container runtime on this host: runc not found");
  EXPECT_TRUE(w->done());
  w->Stop(std::chrono::milliseconds(10));
  EXPECT_EQ(w->state(), RunState::kStopped);
  // Plain processes still work.
  f.Create(Spec(""), nullptr);
  EXPECT_EQ(procs, 1);
}

TEST(DispatchWorkload, ProxyJobsGoToTheProxyFactoryOrFailWithoutOne) {
  int procs = 0, conts = 0, proxies = 0;
  DispatchWorkloadFactory f(std::make_shared<TagFactory>(&procs), std::make_shared<TagFactory>(&conts));
  auto proxy = Spec("rivendell/proxy:latest");
  proxy.kind = "proxy";
  // No proxy factory (no overlay on this host): the job fails saying why, never runs as a plain container.
  std::vector<std::pair<RunState, std::string>> seen;
  auto w = f.Create(proxy, [&](RunState st, const std::string& d) { seen.emplace_back(st, d); });
  ASSERT_NE(w, nullptr);
  EXPECT_FALSE(w->Start(proxy, {}).ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].first, RunState::kFailed);
  EXPECT_NE(seen[0].second.find("no environment proxies"), std::string::npos);
  EXPECT_EQ(conts, 0);
  f.SetProxies(std::make_shared<TagFactory>(&proxies));
  f.Create(proxy, nullptr);
  f.Create(Spec("acme/web:v1"), nullptr);
  EXPECT_EQ(proxies, 1);
  EXPECT_EQ(conts, 1);
}

}  // namespace
}  // namespace rv::strider
