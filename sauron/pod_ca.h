// PodCa: the pod's certificate authority in sauron (OpenSSL's C API): issues
// one leaf per app name, and checks an operator's own certificate.
//
// Contract:
//  * The CA is the one scripts/pod-ca made (DIR/keys/pod-ca.{key,crt}); its
//    key stays in this object (never logged, never in a message).
//  * Issue(): a fresh EC P-256 key per call; the leaf has SAN = DNS:name,
//    CN = name, serverAuth, digitalSignature, CA:FALSE, a random 128-bit
//    serial, valid from 5 min before `now` for `days`; cert_pem is the leaf
//    followed by the CA certificate (the chain a proxy serves).
//  * CheckOwnCert(): the operator's certificate for `name`: the key matches
//    the first certificate, that certificate covers `name` (SAN/CN rules of
//    X509_check_host, so its own wildcard counts), and it has not expired.
//    Every failure is Invalid with the reason. No key material in messages.
//  * Key PEM strings returned are the caller's to wipe (crypto::Wipe).
//  * Thread-safe for concurrent const calls (OpenSSL 3 objects read-only).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace rv::sauron {

struct IssuedCert {
  std::string cert_pem;  // leaf + chain
  std::string key_pem;   // PKCS#8, unencrypted: wipe after use
  int64_t not_after_ms = 0;
  std::string issuer;    // the issuer's DN, one line
};

class PodCa {
 public:
  static constexpr int kLeafDays = 90;

  // Loads PREFIX.key and PREFIX.crt (e.g. DIR/keys/pod-ca).
  static Result<std::unique_ptr<PodCa>> Load(const std::string& prefix);
  static Result<std::unique_ptr<PodCa>> FromPem(const std::string& key_pem, const std::string& cert_pem);
  // A new self-signed CA in memory (tests; scripts/pod-ca makes the pod's).
  static Result<std::unique_ptr<PodCa>> Generate(const std::string& common_name, int64_t now_ms);
  ~PodCa();
  PodCa(const PodCa&) = delete;
  PodCa& operator=(const PodCa&) = delete;

  Result<IssuedCert> Issue(const std::string& name, int64_t now_ms, int days = kLeafDays) const;
  const std::string& cert_pem() const { return cert_pem_; }
  // The CA key as PEM (tests only: to write a CA to files).
  Result<std::string> KeyPemForTest() const;

 private:
  struct Impl;
  explicit PodCa(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string cert_pem_;
};

// The operator's own certificate for `name`: see the contract. Returns
// not_after_ms and the issuer (cert_pem/key_pem are echoed back normalized:
// leaf first, chain after; key as given).
Result<IssuedCert> CheckOwnCert(const std::string& name, const std::string& cert_pem, const std::string& key_pem,
                                int64_t now_ms);

// Verifies `cert_pem`'s leaf against `ca_pem` (chain in cert_pem allowed) for
// `name` at `now_ms`: "" if it verifies, else OpenSSL's reason. For tests and
// for the edge's own checks.
std::string VerifyAgainstCa(const std::string& cert_pem, const std::string& ca_pem, const std::string& name,
                            int64_t now_ms);

}  // namespace rv::sauron
