// DSSE (Dead Simple Signing Envelope, secure-systems-lab/dsse, v1.0.0) with
// Ed25519 signatures:
//
//   {"payload": Base64(SERIALIZED_BODY), "payloadType": PAYLOAD_TYPE,
//    "signatures": [{"keyid": KEYID, "sig": Base64(Sign(PAE(PAYLOAD_TYPE, SERIALIZED_BODY)))}]}
//
//   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
//   (LEN: the byte length as ASCII decimal, no leading zeros; SP: one space)
//
// Base64 is RFC 4648; standard or URL-safe encoding is accepted on input
// (the spec allows both), standard with padding is written.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "provenance/ed25519.h"
#include "util/status.h"

namespace modelc {

inline constexpr char kInTotoPayloadType[] = "application/vnd.in-toto+json";

// The pre-authentication encoding that is signed.
std::string DssePae(std::string_view payload_type, std::string_view payload);

std::string Base64Encode(std::string_view bytes);
// Strict: only the standard or the URL-safe alphabet (not mixed), padding
// optional but correct if present, no whitespace. Errors say what is wrong.
Status Base64Decode(std::string_view text, std::string* bytes);

struct DsseSignature {
  std::string keyid;  // hint only, never used for a security decision
  std::string sig;    // raw signature bytes (64 for Ed25519)
};

struct DsseEnvelope {
  std::string payload_type;
  std::string payload;  // raw (decoded) bytes
  std::vector<DsseSignature> signatures;
};

// Signs `payload` with `key` (keyid = key.KeyId()).
// REQUIRES: key.has_private()
Status DsseSign(const std::string& payload_type, const std::string& payload, const Ed25519Key& key,
                DsseEnvelope* out);

// The envelope as JSON text (fixed key order, 2-space indent, final newline).
std::string DsseEnvelopeJson(const DsseEnvelope& e);

// Parses an envelope; `where` names the file in errors ("FILE: malformed
// DSSE envelope: ..."). Unknown fields are ignored, as the spec says.
Status ParseDsseEnvelope(const std::string& text, const std::string& where, DsseEnvelope* out);

// Index of the first signature that verifies over PAE(payloadType, payload)
// with `key`, or -1 when none does.
int DsseVerify(const DsseEnvelope& e, const Ed25519Key& key);

}  // namespace modelc
