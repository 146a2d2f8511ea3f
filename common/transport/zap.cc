#include "common/transport/zap.h"

#include <spdlog/spdlog.h>

#include <future>
#include <vector>

#include "common/transport/keys.h"

namespace rv::transport {

ZapAuthenticator::ZapAuthenticator(zmq::context_t& ctx) : ctx_(ctx) {
  std::promise<void> bound;
  auto ready = bound.get_future();
  thread_ = std::thread([this, &bound] {
    zmq::socket_t rep(ctx_, zmq::socket_type::rep);
    rep.set(zmq::sockopt::linger, 0);
    rep.bind("inproc://zeromq.zap.01");
    bound.set_value();
    zmq::pollitem_t items[] = {{rep.handle(), 0, ZMQ_POLLIN, 0}};
    while (!stop_.load()) {
      zmq::poll(items, 1, std::chrono::milliseconds(100));
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> frames;
      while (true) {
        zmq::message_t m;
        if (!rep.recv(m, zmq::recv_flags::none)) break;
        bool more = m.more();
        frames.push_back(std::move(m));
        if (!more) break;
      }
      // version, request id, domain, address, identity, mechanism, credentials...
      std::string version = frames.size() > 0 ? frames[0].to_string() : "";
      std::string request_id = frames.size() > 1 ? frames[1].to_string() : "";
      std::string address = frames.size() > 3 ? frames[3].to_string() : "";
      std::string mechanism = frames.size() > 5 ? frames[5].to_string() : "";
      std::string key;
      if (mechanism == "CURVE" && frames.size() > 6 && frames[6].size() == 32) {
        char z85[41];
        zmq_z85_encode(z85, static_cast<const uint8_t*>(frames[6].data()), 32);
        key = z85;
      }
      std::string user;
      bool ok = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = allowed_.find(key);
        if (version == "1.0" && it != allowed_.end()) {
          ok = true;
          user = it->second;
        }
      }
      if (!ok) {
        refused_++;
        std::function<void(const std::string&, const std::string&)> cb;
        {
          std::lock_guard<std::mutex> lock(mu_);
          cb = on_refused_;
        }
        spdlog::warn("refused connection from {} (mechanism {}, key {})", address, mechanism,
                     key.empty() ? "none" : KeyFingerprint(key));
        if (cb) cb(key.empty() ? "none" : KeyFingerprint(key), address);
      }
      rep.send(zmq::buffer(std::string("1.0")), zmq::send_flags::sndmore);
      rep.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
      rep.send(zmq::buffer(std::string(ok ? "200" : "400")), zmq::send_flags::sndmore);
      rep.send(zmq::buffer(std::string(ok ? "OK" : "key not enrolled")), zmq::send_flags::sndmore);
      rep.send(zmq::buffer(user), zmq::send_flags::sndmore);
      rep.send(zmq::message_t(), zmq::send_flags::none);
    }
  });
  ready.wait();
}

ZapAuthenticator::~ZapAuthenticator() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ZapAuthenticator::Allow(const std::string& public_key_z85, const std::string& user_id) {
  std::lock_guard<std::mutex> lock(mu_);
  allowed_[public_key_z85] = user_id;
}

void ZapAuthenticator::Revoke(const std::string& public_key_z85) {
  std::lock_guard<std::mutex> lock(mu_);
  allowed_.erase(public_key_z85);
}

bool ZapAuthenticator::IsAllowed(const std::string& public_key_z85) const {
  std::lock_guard<std::mutex> lock(mu_);
  return allowed_.count(public_key_z85) > 0;
}

void ZapAuthenticator::OnRefused(std::function<void(const std::string&, const std::string&)> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  on_refused_ = std::move(fn);
}

}  // namespace rv::transport
