// rv-container-bench: award-to-running latency of Rivendell's container runtime
// (warm cache), and cold pull of a 1-layer app diff over a cached stack.
// Driven by bench/container_start.sh, which provides the registry and the
// stack image and compares with podman. Prints one JSON object.
#include <CLI/CLI.hpp>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/oci/image_writer.h"
#include "strider/container/container.h"

namespace fs = std::filesystem;
using namespace rv::container;

namespace {
double Ms(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
double Median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"container start benchmark"};
  std::string registry, dir, image = "bench/app:v1", base = "stack/busybox:latest";
  int runs = 10;
  app.add_option("--registry", registry)->required();
  app.add_option("--dir", dir, "scratch dir (state + tmpfs run dir)")->required();
  app.add_option("--image", image, "app image for the warm start");
  app.add_option("--base", base, "stack image for the cold-pull app images");
  app.add_option("--runs", runs);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  RuntimeOptions o;
  o.state_dir = dir + "/state";
  o.run_dir = dir + "/run";
  o.registry = registry;
  o.cgroup_parent = "/rivendell-bench";
  o.veth_pool = "10.248";
  auto rt = ContainerRuntime::Open(o);
  if (!rt.ok()) {
    std::cerr << rt.status().ToString() << "\n";
    return 1;
  }
  int rc = 0;
  nlohmann::json out;
  {
    // Warm: the image is cached; Start -> running (runc started the app).
    PullStats ps;
    auto img = (*rt)->images().Pull(image, &ps);
    if (!img.ok()) {
      std::cerr << img.status().ToString() << "\n";
      return 1;
    }
    std::vector<double> warm, healthy;
    for (int i = 0; i < runs * 2; i++) {
      bool with_port = i % 2 == 1;
      rv::msg::JobSpec job;
      job.id = "bench-" + std::to_string(getpid()) + "-" + std::to_string(i);
      job.app = "bench";
      job.image = image;
      job.resources.ram_mb = 64;
      job.restart = "never";
      if (with_port) job.port = 8080;
      std::atomic<bool> running{false}, failed{false};
      Container c(**rt, job, {{"BENCH_SECRET", "x"}}, [&](CState s, const std::string& d) {
        if (s == CState::kRunning) running = true;
        if (s == CState::kFailed || s == CState::kExited) {
          failed = true;
          std::cerr << "bench container: " << CStateName(s) << " " << d << "\n";
        }
      });
      auto t0 = std::chrono::steady_clock::now();
      c.Start();
      while (!running && !failed && Ms(t0, std::chrono::steady_clock::now()) < 20000)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      auto t1 = std::chrono::steady_clock::now();
      if (!running) rc = 1;
      else (with_port ? healthy : warm).push_back(Ms(t0, t1));
      c.Stop(std::chrono::milliseconds(0));
      c.WaitDone(std::chrono::milliseconds(10000));
    }
    out["warm_start_ms"] = Median(warm);
    out["warm_start_healthy_ms"] = Median(healthy);
    out["warm_runs"] = warm.size();
  }
  {
    // Cold pull: a fresh 1-layer app over the cached stack, each run its own layer.
    rv::oci::RegistryClient::Options co;
    co.registry = registry;
    rv::oci::RegistryClient client(co);
    std::vector<double> cold;
    int64_t bytes = 0;
    for (int i = 0; i < runs; i++) {
      fs::path tree = fs::path(dir) / ("cold-" + std::to_string(i));
      fs::create_directories(tree / "app");
      std::ofstream(tree / "app/main.sh") << "#!/bin/sh\necho run " << i << " " << getpid() << "\nexec httpd -f -p 8080\n";
      std::string blob(200 * 1024, '\0');  // 200 KB of incompressible app "code"
      std::mt19937 rng(static_cast<unsigned>(getpid() * 131 + i));
      for (auto& ch : blob) ch = static_cast<char>(rng());
      std::ofstream(tree / "app/code.bin", std::ios::binary) << blob;
      rv::oci::PushDirOptions po;
      po.repo = "bench/cold";
      po.tag = "r" + std::to_string(getpid()) + "-" + std::to_string(i);
      po.base = base;
      po.tmp_dir = dir;
      auto pr = rv::oci::PushDir(client, tree.string(), po);
      if (!pr.ok()) {
        std::cerr << pr.status().ToString() << "\n";
        return 1;
      }
      PullStats ps;
      auto t0 = std::chrono::steady_clock::now();
      auto img = (*rt)->images().Pull("bench/cold:" + po.tag, &ps);
      auto t1 = std::chrono::steady_clock::now();
      if (!img.ok() || ps.layers_unpacked != 1) {
        std::cerr << "cold pull: " << (img.ok() ? "unexpected layer count" : img.status().ToString()) << "\n";
        rc = 1;
        continue;
      }
      bytes = ps.bytes_fetched;
      cold.push_back(Ms(t0, t1));
    }
    out["cold_pull_ms"] = Median(cold);
    out["cold_pull_bytes"] = bytes;
  }
  (*rt)->GcContainers();
  rt->reset();
  umount2(o.run_dir.c_str(), MNT_DETACH);
  std::cout << out.dump() << "\n";
  return rc;
}
