#include "provenance/ed25519.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "util/atomic_file.h"
#include "util/sha256.h"

namespace modelc {

namespace {

EVP_PKEY* P(void* p) { return static_cast<EVP_PKEY*>(p); }

std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string BioText(BIO* b) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  return n > 0 ? std::string(data, (size_t)n) : std::string();
}

}  // namespace

Ed25519Key::Ed25519Key() = default;
Ed25519Key::~Ed25519Key() { EVP_PKEY_free(P(pkey_)); }
Ed25519Key::Ed25519Key(Ed25519Key&& o) noexcept : pkey_(o.pkey_), has_private_(o.has_private_) {
  o.pkey_ = nullptr;
}
Ed25519Key& Ed25519Key::operator=(Ed25519Key&& o) noexcept {
  if (this != &o) {
    EVP_PKEY_free(P(pkey_));
    pkey_ = o.pkey_;
    has_private_ = o.has_private_;
    o.pkey_ = nullptr;
  }
  return *this;
}

Status Ed25519Key::Generate(Ed25519Key* out) {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!k) return Status::Error("cannot generate an Ed25519 key: " + OpenSslError());
  Ed25519Key key;
  key.pkey_ = k;
  key.has_private_ = true;
  *out = std::move(key);
  return Status::OK();
}

Status Ed25519Key::FromPem(const std::string& pem, const std::string& where, bool allow_public, Ed25519Key* out) {
  ERR_clear_error();
  Ed25519Key key;
  const bool is_public = pem.find("-----BEGIN PUBLIC KEY-----") != std::string::npos;
  const bool is_private = pem.find("PRIVATE KEY-----") != std::string::npos;
  if (!is_public && !is_private)
    return Status::Error(where + ": not a PEM key (expected \"-----BEGIN PRIVATE KEY-----\"" +
                         std::string(allow_public ? " or \"-----BEGIN PUBLIC KEY-----\"" : "") +
                         "; make one with `openssl genpkey -algorithm ed25519 -out KEY.pem`)");
  if (is_public && !is_private && !allow_public)
    return Status::Error(where + ": this is a public key; signing needs the private key");
  BIO* b = BIO_new_mem_buf(pem.data(), (int)pem.size());
  if (!b) return Status::Error(where + ": " + OpenSslError());
  EVP_PKEY* k = is_private ? PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr)
                           : PEM_read_bio_PUBKEY(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  if (!k) return Status::Error(where + ": cannot read the PEM key: " + OpenSslError());
  if (EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519) {
    const char* name = OBJ_nid2sn(EVP_PKEY_get_base_id(k));
    EVP_PKEY_free(k);
    return Status::Error(where + ": key type is " + std::string(name ? name : "unknown") +
                         ", expected Ed25519 (`openssl genpkey -algorithm ed25519`)");
  }
  key.pkey_ = k;
  key.has_private_ = is_private;
  *out = std::move(key);
  return Status::OK();
}

Status Ed25519Key::Load(const std::string& path, bool allow_public, Ed25519Key* out) {
  std::string pem;
  MODELC_RETURN_IF_ERROR(ReadFile(path, &pem));
  return FromPem(pem, path, allow_public, out);
}

std::string Ed25519Key::PrivatePem() const {
  BIO* b = BIO_new(BIO_s_mem());
  std::string s;
  if (b && PEM_write_bio_PrivateKey(b, P(pkey_), nullptr, nullptr, 0, nullptr, nullptr) == 1) s = BioText(b);
  BIO_free(b);
  return s;
}

std::string Ed25519Key::PublicPem() const {
  BIO* b = BIO_new(BIO_s_mem());
  std::string s;
  if (b && PEM_write_bio_PUBKEY(b, P(pkey_)) == 1) s = BioText(b);
  BIO_free(b);
  return s;
}

std::string Ed25519Key::KeyId() const {
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(P(pkey_), &der);
  if (n <= 0) return "";
  std::string id = Sha256Hex(der, (size_t)n);
  OPENSSL_free(der);
  return id;
}

Status Ed25519Key::Sign(std::string_view message, std::string* signature) const {
  if (!has_private_) return Status::Error("signing needs a private key");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return Status::Error("out of memory");
  unsigned char sig[64];
  size_t len = sizeof sig;
  const bool ok = EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, P(pkey_)) == 1 &&
                  EVP_DigestSign(ctx, sig, &len, reinterpret_cast<const unsigned char*>(message.data()),
                                 message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return Status::Error("Ed25519 signing failed: " + OpenSslError());
  signature->assign(reinterpret_cast<const char*>(sig), len);
  return Status::OK();
}

bool Ed25519Key::Verify(std::string_view message, std::string_view signature) const {
  if (!pkey_ || signature.size() != 64) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return false;
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, P(pkey_)) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                   reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

}  // namespace modelc
