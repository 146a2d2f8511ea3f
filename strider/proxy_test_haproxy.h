// Test helpers (not in any library): running Debian's HAProxy on a rendered
// environment-proxy configuration, as proxy_config_test and
// proxy_body_limit_test do. Files go under a directory the test owns and
// removes.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/testing/loopback.h"
#include "strider/proxy_config.h"

namespace rv::strider::proxytest {

// A throwaway self-signed P-256 certificate and its key in one PEM file
// (dir/fallback.pem), as HAProxy's crt-list takes them; "" if openssl failed.
inline std::string SelfSignedPem(const std::filesystem::path& dir) {
  std::string pem = (dir / "fallback.pem").string();
  std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=invalid -days 1 "
                    "-keyout " + pem + ".key -out " + pem + " 2>/dev/null && cat " + pem + ".key >> " + pem;
  return system(cmd.c_str()) == 0 ? pem : "";
}

// Gives every site of `in` a copy of `pem` under dir/certs, renders the
// configuration and writes its files into dir, where `in.dir` points.
inline ProxyConfigFiles WriteRendered(const std::filesystem::path& dir, ProxyConfigInput& in, const std::string& pem) {
  std::filesystem::create_directories(dir / "certs");
  in.dir = dir.string();
  in.fallback_pem = pem;
  for (size_t i = 0; i < in.sites.size(); ++i) {
    in.sites[i].pem_file = (dir / "certs" / (std::to_string(i) + ".pem")).string();
    std::filesystem::copy_file(pem, in.sites[i].pem_file, std::filesystem::copy_options::overwrite_existing);
  }
  auto f = RenderProxyConfig(in);
  for (const auto& [name, content] : f.ByName()) std::ofstream(dir / name) << content;
  return f;
}

using rv::testing::ListenLoopback;

}  // namespace rv::strider::proxytest
