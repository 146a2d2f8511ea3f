// ApiTestBase: the fixture for tests that drive sauron's request table through
// ApiServer::Handle, without a network.
//
// Contract: SetUp makes a fresh directory under the temp dir (named after the
// test and the pid, so parallel test binaries never share one) with an open
// Store at db_; a subclass opens its own table owners on db_, fills them into
// deps_ and calls StartApi(). TearDown drops the server before the stores and
// removes the directory. Call/Payload decode as a client would and fail the
// test on undecodable bytes. Test-only; not thread-safe.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/counters.h"
#include "common/msg/envelope.h"
#include "common/transport/keys.h"
#include "sauron/api_server.h"
#include "sauron/liveness.h"
#include "sauron/store.h"

namespace rv::sauron {

class ApiTestBase : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("rv-api-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = (dir_ / "sauron.db").string();
    auto store = Store::Open(db_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    liveness_ = std::make_unique<Liveness>(LivenessOptions{});
    deps_.store = store_.get();
    deps_.liveness = liveness_.get();
    deps_.counters = &counters_;
  }
  // Subclasses that own more stores reset them after calling this.
  void TearDown() override {
    api_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartApi() { api_ = std::make_unique<ApiServer>(ctx_, transport::GenerateKeypair(), deps_); }

  // Enrolls host `id` with a fresh CURVE key pair, returned for sealing tests.
  transport::CurveKeypair EnrollHost(const std::string& id) {
    transport::CurveKeypair kp = transport::GenerateKeypair();
    msg::EnrollHost e;
    e.host_id = id;
    e.public_key = kp.public_key;
    EXPECT_TRUE(store_->EnrollHost(e).ok());
    return kp;
  }

  // `req` sent by the CURVE user id `user`, as the server answers it.
  template <typename T>
  msg::Reply Call(const std::string& user, const T& req) {
    std::string bytes = msg::Encode(req, 9);
    std::string out = api_->Handle(user, "127.0.0.1", bytes.data(), bytes.size());
    msg::Reply r;
    auto env = msg::DecodeEnvelope(out);
    EXPECT_TRUE(env.ok());
    if (env.ok()) {
      EXPECT_TRUE(msg::DecodeBody(*env, &r).ok());
    }
    return r;
  }
  template <typename T>
  T Payload(const msg::Reply& r) {
    T out;
    auto env = msg::DecodeEnvelope(r.payload);
    EXPECT_TRUE(env.ok());
    if (env.ok()) {
      EXPECT_TRUE(msg::DecodeBody(*env, &out).ok());
    }
    return out;
  }

  // "kind detail" of every logged event whose kind starts with `prefix`.
  std::vector<std::string> Events(const std::string& prefix = "") {
    std::vector<std::string> out;
    auto events = store_->ListEvents(0, 1000);
    EXPECT_TRUE(events.ok());
    if (events.ok()) {
      for (const auto& e : *events) {
        if (e.kind.rfind(prefix, 0) == 0) out.push_back(e.kind + " " + e.detail);
      }
    }
    return out;
  }
  std::vector<std::string> EventKinds() {
    std::vector<std::string> out;
    auto events = store_->ListEvents(0, 1000);
    EXPECT_TRUE(events.ok());
    if (events.ok()) {
      for (const auto& e : *events) out.push_back(e.kind);
    }
    return out;
  }

  std::filesystem::path dir_;
  std::string db_;
  zmq::context_t ctx_;
  Counters counters_;
  ApiDeps deps_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Liveness> liveness_;
  std::unique_ptr<ApiServer> api_;
};

constexpr int kDeniedCode = static_cast<int>(Status::Code::kDenied);

}  // namespace rv::sauron
