#include <gtest/gtest.h>

#include "strider/container/image_store.h"

namespace rv::container {
namespace {

TEST(ImageStoreClientOptions, ThePodCaAndCredentialGoToTheDefaultRegistryOnly) {
  ImageStore::Options s;
  s.default_registry = "10.93.1.1:7420";
  s.registry_ca = "/pod/keys/pod-ca.crt";
  s.registry_auth = "/pod/keys/registry-pull.cred";
  auto pod = ImageStore::ClientOptions(s, "10.93.1.1:7420");
  EXPECT_EQ(pod.registry, "10.93.1.1:7420");
  EXPECT_EQ(pod.ca_file, "/pod/keys/pod-ca.crt");
  EXPECT_EQ(pod.auth_file, "/pod/keys/registry-pull.cred");
  // A reference naming another registry never gets the pod's credential.
  auto other = ImageStore::ClientOptions(s, "evil.example:443");
  EXPECT_EQ(other.registry, "evil.example:443");
  EXPECT_TRUE(other.ca_file.empty());
  EXPECT_TRUE(other.auth_file.empty());
}

TEST(ImageStoreClientOptions, WithoutACaThePodRegistryIsPlainAndAnonymous) {
  ImageStore::Options s;
  s.default_registry = "127.0.0.1:5000";
  auto o = ImageStore::ClientOptions(s, "127.0.0.1:5000");
  EXPECT_TRUE(o.ca_file.empty());
  EXPECT_TRUE(o.auth_file.empty());
}

}  // namespace
}  // namespace rv::container
