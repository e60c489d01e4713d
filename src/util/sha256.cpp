#include "util/sha256.h"

#include <unistd.h>

#include "util/atomic_file.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstring>
#include <vector>

namespace modelc {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}
Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256::Update(const void* data, size_t n) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, n);
}

std::string Sha256::HexDigest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &len);
  static const char* kHex = "0123456789abcdef";
  std::string out(2 * len, '0');
  for (unsigned i = 0; i < len; ++i) {
    out[2 * i] = kHex[md[i] >> 4];
    out[2 * i + 1] = kHex[md[i] & 15];
  }
  return out;
}

std::string Sha256Hex(const void* data, size_t n) {
  Sha256 h;
  h.Update(data, n);
  return h.HexDigest();
}

Status Sha256File(const std::string& path, std::string* hex) {
  int fd;
  MODELC_RETURN_IF_ERROR(OpenRegularFile(path, &fd));
  FILE* f = ::fdopen(fd, "rb");
  if (!f) {
    ::close(fd);
    return Status::Error(path + ": cannot open: " + std::strerror(errno));
  }
  Sha256 h;
  std::vector<char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) h.Update(buf.data(), n);
  bool err = std::ferror(f);
  std::fclose(f);
  if (err) return Status::Error(path + ": read error");
  *hex = h.HexDigest();
  return Status::OK();
}

}  // namespace modelc
