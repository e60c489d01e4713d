// Ed25519 keys, signatures and key ids through OpenSSL's EVP interface (no
// home-made crypto). Keys are read from PEM files as `openssl genpkey
// -algorithm ed25519` writes them (PKCS#8 private key) and as `openssl pkey
// -pubout` writes the public half (SubjectPublicKeyInfo).
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace modelc {

class Ed25519Key {
 public:
  Ed25519Key();
  ~Ed25519Key();
  Ed25519Key(Ed25519Key&&) noexcept;
  Ed25519Key& operator=(Ed25519Key&&) noexcept;

  // A fresh random key pair (tests, examples).
  static Status Generate(Ed25519Key* out);
  // PEM text: a private key ("-----BEGIN PRIVATE KEY-----"), or, when
  // `allow_public` is true, a public key ("-----BEGIN PUBLIC KEY-----").
  // `where` names the file in errors. Any other key type is an error.
  static Status FromPem(const std::string& pem, const std::string& where, bool allow_public, Ed25519Key* out);
  // Reads `path` and calls FromPem.
  static Status Load(const std::string& path, bool allow_public, Ed25519Key* out);

  bool has_private() const { return has_private_; }
  bool valid() const { return pkey_ != nullptr; }
  // PEM encodings (private: PKCS#8; public: SubjectPublicKeyInfo).
  std::string PrivatePem() const;  // REQUIRES: has_private()
  std::string PublicPem() const;
  // sha256 (lowercase hex) of the DER SubjectPublicKeyInfo: the DSSE keyid.
  std::string KeyId() const;

  // 64-byte Ed25519 signature of `message` (PureEdDSA, no pre-hash).
  // REQUIRES: has_private()
  Status Sign(std::string_view message, std::string* signature) const;
  // True when `signature` is a valid signature of `message` under this key.
  bool Verify(std::string_view message, std::string_view signature) const;

 private:
  void* pkey_ = nullptr;  // EVP_PKEY*
  bool has_private_ = false;
};

}  // namespace modelc
