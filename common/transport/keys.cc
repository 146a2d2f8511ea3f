#include "common/transport/keys.h"

#include <sys/stat.h>
#include <zmq.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace rv::transport {
namespace {

Status WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return Status::Io("cannot write " + tmp);
    ::chmod(tmp.c_str(), mode);
    out << text;
    if (!out.flush()) return Status::Io("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::Io("cannot rename " + tmp + ": " + ec.message());
  return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read key file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Field(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + "=", 0) == 0) {
      std::string v = line.substr(name.size() + 1);
      while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.pop_back();
      return v;
    }
  }
  return "";
}

}  // namespace

bool IsValidZ85Key(const std::string& key) {
  if (key.size() != 40) return false;
  uint8_t raw[32];
  return zmq_z85_decode(raw, key.c_str()) != nullptr;
}

std::string KeyFingerprint(const std::string& public_key) {
  return public_key.substr(0, 8);
}

CurveKeypair GenerateKeypair() {
  char pub[41], sec[41];
  zmq_curve_keypair(pub, sec);
  return CurveKeypair{pub, sec};
}

Status SaveKeypair(const std::string& path, const CurveKeypair& kp) {
  Status s = WriteFile(path, "public=" + kp.public_key + "\nsecret=" + kp.secret_key + "\n", 0600);
  if (!s.ok()) return s;
  return WriteFile(path + ".pub", "public=" + kp.public_key + "\n", 0644);
}

Result<CurveKeypair> LoadKeypair(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  CurveKeypair kp{Field(*text, "public"), Field(*text, "secret")};
  if (!IsValidZ85Key(kp.public_key) || !IsValidZ85Key(kp.secret_key)) {
    return Status::Invalid("key file " + path + " does not hold a valid CURVE key pair");
  }
  return kp;
}

Result<std::string> LoadPublicKey(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::string key = Field(*text, "public");
  if (key.empty()) {
    key = *text;
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.pop_back();
  }
  if (!IsValidZ85Key(key)) return Status::Invalid("file " + path + " does not hold a CURVE public key");
  return key;
}

Result<CurveKeypair> LoadOrCreateKeypair(const std::string& path) {
  if (std::filesystem::exists(path)) return LoadKeypair(path);
  CurveKeypair kp = GenerateKeypair();
  Status s = SaveKeypair(path, kp);
  if (!s.ok()) return s;
  return kp;
}

}  // namespace rv::transport
