// Fuzz target: the provenance readers (provenance/dsse.h, statement.h).
//
// Each input is read as a DSSE envelope (ParseDsseEnvelope; an envelope that
// parses is verified with a fixed Ed25519 key and its payload read as a
// statement) and as a provenance statement (ParseStatement). Base64 is
// checked for Base64Decode(Base64Encode(x)) == x and, for text that decodes,
// that the standard encoding of the bytes decodes to the same bytes.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "provenance/dsse.h"
#include "provenance/ed25519.h"
#include "provenance/statement.h"

using namespace modelc;

namespace {

// A fixed test key (RFC 8032 test 1's secret key, PKCS#8 PEM): verification
// results are the same on every run.
constexpr char kKeyPem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";

const Ed25519Key& Key() {
  static const Ed25519Key* k = [] {
    auto* key = new Ed25519Key();
    Status st = Ed25519Key::FromPem(kKeyPem, "fuzz key", false, key);
    if (!st.ok()) modelc_fuzz::Fail("key", st.message());
    return key;
  }();
  return *k;
}

void Statement(const std::string& text) {
  ParsedStatement p;
  Status st = ParseStatement(text, "fuzz.intoto.json", &p);
  if (!st.ok()) {
    FUZZ_CHECK(!st.message().empty());
    return;
  }
  FUZZ_CHECK(!p.subject_sha256.empty() && !p.source_hash.empty());
  FUZZ_CHECK(nlohmann::json::accept(p.recipe_json) && nlohmann::json::accept(p.json_without_volatile));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  DsseEnvelope e;
  Status st = ParseDsseEnvelope(in, "fuzz.sig", &e);
  if (st.ok()) {
    FUZZ_CHECK(!e.signatures.empty());
    const int i = DsseVerify(e, Key());
    FUZZ_CHECK(i >= -1 && i < int(e.signatures.size()));
    // What was read writes back and reads back the same.
    DsseEnvelope again;
    FUZZ_CHECK(ParseDsseEnvelope(DsseEnvelopeJson(e), "again", &again).ok());
    FUZZ_CHECK(again.payload == e.payload && again.payload_type == e.payload_type &&
               again.signatures.size() == e.signatures.size());
    Statement(e.payload);
  } else {
    FUZZ_CHECK(st.message().rfind("fuzz.sig: malformed DSSE envelope: ", 0) == 0, st.message());
  }
  Statement(in);

  std::string bytes;
  FUZZ_CHECK(Base64Decode(Base64Encode(in), &bytes).ok() && bytes == in, "base64 round trip");
  if (Base64Decode(in, &bytes).ok()) {
    std::string again;
    FUZZ_CHECK(Base64Decode(Base64Encode(bytes), &again).ok() && again == bytes);
  }
  return 0;
}
