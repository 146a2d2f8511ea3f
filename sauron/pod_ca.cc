#include "sauron/pod_ca.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/names.h"

namespace rv::sauron {
namespace {

constexpr size_t kMaxPemBytes = 64 * 1024;

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
struct X509Free { void operator()(X509* x) const { X509_free(x); } };
struct KeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
struct StoreFree { void operator()(X509_STORE* s) const { X509_STORE_free(s); } };
struct StoreCtxFree { void operator()(X509_STORE_CTX* s) const { X509_STORE_CTX_free(s); } };
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

// OpenSSL's error queue as text (and cleared).
std::string SslError() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

BioPtr MemBio(const std::string& s) { return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size()))); }

std::string BioString(BIO* b) {
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  return n > 0 ? std::string(p, static_cast<size_t>(n)) : std::string();
}

std::vector<X509Ptr> ReadCerts(const std::string& pem) {
  std::vector<X509Ptr> out;
  BioPtr b = MemBio(pem);
  while (X509* x = PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  ERR_clear_error();  // the loop ends on "no start line"
  return out;
}

Result<std::string> CertPem(X509* x) {
  BioPtr b(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(b.get(), x)) return Status::Internal("cannot write a certificate: " + SslError());
  return BioString(b.get());
}

Result<std::string> KeyPem(EVP_PKEY* k) {
  BioPtr b(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr)) {
    return Status::Internal("cannot write a key: " + SslError());
  }
  std::string out = BioString(b.get());
  return out;
}

int64_t TimeMs(const ASN1_TIME* t) {
  struct tm tm {};
  if (!ASN1_TIME_to_tm(t, &tm)) return 0;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

std::string NameLine(const X509_NAME* n) {
  char buf[512];
  X509_NAME_oneline(n, buf, sizeof(buf));
  return buf;
}

Status AddExt(X509* x, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (e == nullptr) return Status::Internal(std::string("certificate extension ") + OBJ_nid2sn(nid) + ": " + SslError());
  int ok = X509_add_ext(x, e, -1);
  X509_EXTENSION_free(e);
  return ok ? Status::Ok() : Status::Internal("cannot add an extension: " + SslError());
}

Status RandomSerial(X509* x) {
  BIGNUM* bn = BN_new();
  if (bn == nullptr || !BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY)) {
    BN_free(bn);
    return Status::Internal("serial: " + SslError());
  }
  bool ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != nullptr;
  BN_free(bn);
  return ok ? Status::Ok() : Status::Internal("serial: " + SslError());
}

Status SetValidity(X509* x, int64_t now_ms, int days) {
  time_t now = static_cast<time_t>(now_ms / 1000);
  if (!X509_time_adj_ex(X509_getm_notBefore(x), 0, -300, &now) ||
      !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, &now)) {
    return Status::Internal("validity: " + SslError());
  }
  return Status::Ok();
}

Result<KeyPtr> NewP256() {
  KeyPtr k(EVP_EC_gen("P-256"));
  if (!k) return Status::Internal("cannot generate an EC P-256 key: " + SslError());
  return k;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

struct PodCa::Impl {
  KeyPtr key;
  X509Ptr cert;
};

PodCa::PodCa(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PodCa::~PodCa() = default;

Result<std::unique_ptr<PodCa>> PodCa::Load(const std::string& prefix) {
  auto key = ReadFile(prefix + ".key");
  if (!key.ok()) return key.status();
  auto crt = ReadFile(prefix + ".crt");
  if (!crt.ok()) return crt.status();
  auto ca = FromPem(*key, *crt);
  OPENSSL_cleanse(key->data(), key->size());
  if (!ca.ok()) return Status::Invalid("pod CA " + prefix + ": " + ca.status().message());
  return ca;
}

Result<std::unique_ptr<PodCa>> PodCa::FromPem(const std::string& key_pem, const std::string& cert_pem) {
  auto impl = std::make_unique<Impl>();
  BioPtr kb = MemBio(key_pem);
  impl->key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  if (!impl->key) return Status::Invalid("the CA key is not a PEM private key: " + SslError());
  auto certs = ReadCerts(cert_pem);
  if (certs.empty()) return Status::Invalid("the CA certificate is not a PEM certificate");
  impl->cert = std::move(certs.front());
  if (X509_check_private_key(impl->cert.get(), impl->key.get()) != 1) {
    ERR_clear_error();
    return Status::Invalid("the CA key does not match the CA certificate");
  }
  if (X509_check_ca(impl->cert.get()) == 0) return Status::Invalid("the CA certificate is not a CA");
  auto pem = CertPem(impl->cert.get());
  if (!pem.ok()) return pem.status();
  std::unique_ptr<PodCa> ca(new PodCa(std::move(impl)));
  ca->cert_pem_ = *pem;
  return ca;
}

Result<std::unique_ptr<PodCa>> PodCa::Generate(const std::string& common_name, int64_t now_ms) {
  auto impl = std::make_unique<Impl>();
  auto k = NewP256();
  if (!k.ok()) return k.status();
  impl->key = std::move(*k);
  impl->cert.reset(X509_new());
  X509* x = impl->cert.get();
  X509_set_version(x, 2);
  if (Status s = RandomSerial(x); !s.ok()) return s;
  if (Status s = SetValidity(x, now_ms, 3650); !s.ok()) return s;
  X509_NAME* n = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(x, n);
  X509_set_pubkey(x, impl->key.get());
  if (Status s = AddExt(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"); !s.ok()) return s;
  if (Status s = AddExt(x, x, NID_key_usage, "critical,keyCertSign,cRLSign"); !s.ok()) return s;
  if (Status s = AddExt(x, x, NID_subject_key_identifier, "hash"); !s.ok()) return s;
  if (!X509_sign(x, impl->key.get(), EVP_sha256())) return Status::Internal("cannot self-sign: " + SslError());
  auto pem = CertPem(x);
  if (!pem.ok()) return pem.status();
  std::unique_ptr<PodCa> ca(new PodCa(std::move(impl)));
  ca->cert_pem_ = *pem;
  return ca;
}

Result<std::string> PodCa::KeyPemForTest() const { return KeyPem(impl_->key.get()); }

Result<IssuedCert> PodCa::Issue(const std::string& name, int64_t now_ms, int days) const {
  auto k = NewP256();
  if (!k.ok()) return k.status();
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  if (Status s = RandomSerial(x.get()); !s.ok()) return s;
  if (Status s = SetValidity(x.get(), now_ms, days); !s.ok()) return s;
  X509_NAME* n = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), X509_get_subject_name(impl_->cert.get()));
  X509_set_pubkey(x.get(), k->get());
  std::string san = "DNS:" + name;
  for (auto [nid, value] : {std::pair<int, const char*>{NID_basic_constraints, "critical,CA:FALSE"},
                            {NID_key_usage, "critical,digitalSignature"},
                            {NID_ext_key_usage, "serverAuth"},
                            {NID_subject_alt_name, san.c_str()},
                            {NID_subject_key_identifier, "hash"},
                            {NID_authority_key_identifier, "keyid:always"}}) {
    if (Status s = AddExt(x.get(), impl_->cert.get(), nid, value); !s.ok()) return s;
  }
  if (!X509_sign(x.get(), impl_->key.get(), EVP_sha256())) return Status::Internal("cannot sign: " + SslError());
  auto leaf = CertPem(x.get());
  if (!leaf.ok()) return leaf.status();
  auto key = KeyPem(k->get());
  if (!key.ok()) return key.status();
  IssuedCert out;
  out.cert_pem = *leaf + cert_pem_;
  out.key_pem = std::move(*key);
  out.not_after_ms = TimeMs(X509_get0_notAfter(x.get()));
  out.issuer = NameLine(X509_get_subject_name(impl_->cert.get()));
  return out;
}

Result<IssuedCert> CheckOwnCert(const std::string& name, const std::string& cert_pem, const std::string& key_pem,
                                int64_t now_ms) {
  if (cert_pem.size() > kMaxPemBytes) return Status::Invalid("the certificate file is larger than 64 KiB");
  if (key_pem.size() > kMaxPemBytes) return Status::Invalid("the key file is larger than 64 KiB");
  auto certs = ReadCerts(cert_pem);
  if (certs.empty()) return Status::Invalid("the certificate file holds no PEM certificate");
  BioPtr kb = MemBio(key_pem);
  KeyPtr key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    return Status::Invalid("the key file holds no unencrypted PEM private key");
  }
  X509* leaf = certs.front().get();
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    return Status::Invalid("the key does not match the certificate (the first one in the file)");
  }
  if (X509_check_host(leaf, name.data(), name.size(), 0, nullptr) != 1) {
    return Status::Invalid("the certificate does not cover " + names::Quote(name) + " (subjectAltName/CN)");
  }
  time_t now = static_cast<time_t>(now_ms / 1000);
  if (X509_cmp_time(X509_get0_notAfter(leaf), &now) <= 0) return Status::Invalid("the certificate has expired");
  if (X509_cmp_time(X509_get0_notBefore(leaf), &now) > 0) return Status::Invalid("the certificate is not valid yet");
  IssuedCert out;
  for (auto& c : certs) {
    auto pem = CertPem(c.get());
    if (!pem.ok()) return pem.status();
    out.cert_pem += *pem;
  }
  out.key_pem = key_pem;
  out.not_after_ms = TimeMs(X509_get0_notAfter(leaf));
  out.issuer = NameLine(X509_get_issuer_name(leaf));
  return out;
}

std::string VerifyAgainstCa(const std::string& cert_pem, const std::string& ca_pem, const std::string& name,
                            int64_t now_ms) {
  auto certs = ReadCerts(cert_pem);
  auto cas = ReadCerts(ca_pem);
  if (certs.empty() || cas.empty()) return "no certificate";
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), cas.front().get());
  STACK_OF(X509)* chain = sk_X509_new_null();
  for (size_t i = 1; i < certs.size(); ++i) sk_X509_push(chain, certs[i].get());
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), certs.front().get(), chain);
  X509_VERIFY_PARAM* p = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(p, static_cast<time_t>(now_ms / 1000));
  X509_VERIFY_PARAM_set1_host(p, name.c_str(), name.size());
  X509_VERIFY_PARAM_set_purpose(p, X509_PURPOSE_SSL_SERVER);
  int ok = X509_verify_cert(ctx.get());
  std::string why = ok == 1 ? "" : X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
  sk_X509_free(chain);
  ERR_clear_error();
  return why;
}

}  // namespace rv::sauron
