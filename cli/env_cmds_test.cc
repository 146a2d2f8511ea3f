// env:addrs output (the table an operator reads): addresses, AEAD per epoch,
// the send epoch starred. The command against a real sauron is in
// test/integration/env_addrs_test.cc.
#include "cli/env_cmds.h"

#include <gtest/gtest.h>

namespace rv::cli {
namespace {

TEST(EnvAddrs, ShowsAddressesAeadAndSendEpoch) {
  msg::OverlayListing l;
  msg::OverlayEnv e;
  e.env = "acme/prod";
  e.subnet = "10.240.1.0/24";
  e.aead = "aes256gcm";
  e.send_epoch = 1;
  e.keys = {{1, "", "aes256gcm"}, {2, "", "chacha20poly1305"}};
  e.routes = {{"10.240.1.2", "h1", "web-1", 3}, {"10.240.1.3", "h2", "web-2", 1}};
  l.envs.push_back(e);
  msg::OverlayEnv empty;
  empty.env = "acme/idle";
  empty.subnet = "10.240.2.0/24";
  empty.aead = "chacha20poly1305";
  empty.send_epoch = 4;
  empty.keys = {{4, "", "chacha20poly1305"}};
  l.envs.push_back(empty);
  std::string out = FormatAddrs(l);
  EXPECT_NE(out.find("ENV"), std::string::npos) << out;
  EXPECT_NE(out.find("10.240.1.2"), std::string::npos) << out;
  EXPECT_NE(out.find("web-2"), std::string::npos) << out;
  EXPECT_NE(out.find("aes256gcm (2: chacha20poly1305)"), std::string::npos) << out;
  EXPECT_NE(out.find("1*,2"), std::string::npos) << out;
  EXPECT_NE(out.find("acme/idle"), std::string::npos) << out;
  EXPECT_NE(out.find("4*"), std::string::npos) << out;
}

}  // namespace
}  // namespace rv::cli
