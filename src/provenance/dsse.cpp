#include "provenance/dsse.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace modelc {

std::string DssePae(std::string_view payload_type, std::string_view payload) {
  std::string s = "DSSEv1 ";
  s += std::to_string(payload_type.size());
  s += ' ';
  s += payload_type;
  s += ' ';
  s += std::to_string(payload.size());
  s += ' ';
  s += payload;
  return s;
}

namespace {

constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Value of a Base64 character in `alphabet` ('+/' standard or '-_' URL-safe), or -1.
int Sextet(char c, char c62, char c63) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == c62) return 62;
  if (c == c63) return 63;
  return -1;
}

}  // namespace

std::string Base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = (uint32_t)(uint8_t)in[i] << 16 | (uint32_t)(uint8_t)in[i + 1] << 8 | (uint8_t)in[i + 2];
    out += kStd[v >> 18];
    out += kStd[(v >> 12) & 63];
    out += kStd[(v >> 6) & 63];
    out += kStd[v & 63];
  }
  const size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t v = (uint32_t)(uint8_t)in[i] << 16;
    if (rest == 2) v |= (uint32_t)(uint8_t)in[i + 1] << 8;
    out += kStd[v >> 18];
    out += kStd[(v >> 12) & 63];
    out += rest == 2 ? kStd[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Status Base64Decode(std::string_view text, std::string* bytes) {
  const bool has_std = text.find_first_of("+/") != std::string_view::npos;
  const bool has_url = text.find_first_of("-_") != std::string_view::npos;
  if (has_std && has_url) return Status::Error("invalid base64: mixes the standard and URL-safe alphabets");
  const char c62 = has_url ? '-' : '+', c63 = has_url ? '_' : '/';
  size_t n = text.size();
  size_t pad = 0;
  while (pad < 2 && n > 0 && text[n - 1] == '=') --n, ++pad;
  if (pad > 0 && text.size() % 4 != 0) return Status::Error("invalid base64: padded text is not a multiple of 4 long");
  if (n % 4 == 1) return Status::Error("invalid base64: impossible length " + std::to_string(text.size()));
  if (pad > 0 && (n + pad) % 4 != 0) return Status::Error("invalid base64: wrong padding");
  std::string out;
  out.reserve(n / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    const int v = Sextet(text[i], c62, c63);
    if (v < 0) {
      const unsigned char c = (unsigned char)text[i];
      char what[32];
      if (c >= 0x21 && c < 0x7f)
        std::snprintf(what, sizeof what, "'%c'", (char)c);
      else
        std::snprintf(what, sizeof what, "byte 0x%02x", (unsigned)c);
      std::string msg = "invalid base64: character ";
      msg += what;
      msg += " at offset ";
      msg += std::to_string(i);
      return Status::Error(msg);
    }
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += (char)((acc >> bits) & 0xff);
    }
  }
  // Leftover bits of the last group must be zero (canonical encoding), so
  // that one text decodes to one byte string and back.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return Status::Error("invalid base64: non-zero bits after the last byte");
  *bytes = std::move(out);
  return Status::OK();
}

Status DsseSign(const std::string& payload_type, const std::string& payload, const Ed25519Key& key,
                DsseEnvelope* out) {
  DsseEnvelope e;
  e.payload_type = payload_type;
  e.payload = payload;
  DsseSignature s;
  s.keyid = key.KeyId();
  MODELC_RETURN_IF_ERROR(key.Sign(DssePae(payload_type, payload), &s.sig));
  e.signatures.push_back(std::move(s));
  *out = std::move(e);
  return Status::OK();
}

std::string DsseEnvelopeJson(const DsseEnvelope& e) {
  nlohmann::ordered_json j;
  j["payload"] = Base64Encode(e.payload);
  j["payloadType"] = e.payload_type;
  nlohmann::ordered_json sigs = nlohmann::ordered_json::array();
  for (const DsseSignature& s : e.signatures) {
    nlohmann::ordered_json o;
    o["keyid"] = s.keyid;
    o["sig"] = Base64Encode(s.sig);
    sigs.push_back(std::move(o));
  }
  j["signatures"] = std::move(sigs);
  return j.dump(2) + "\n";
}

Status ParseDsseEnvelope(const std::string& text, const std::string& where, DsseEnvelope* out) {
  const std::string bad = where + ": malformed DSSE envelope: ";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range (number overflow)
    return Status::Error(bad + "not JSON (" + e.what() + ")");
  }
  if (!j.is_object()) return Status::Error(bad + "not a JSON object");
  for (const char* k : {"payload", "payloadType"})
    if (!j.contains(k) || !j[k].is_string()) return Status::Error(bad + "\"" + k + "\" missing or not a string");
  if (!j.contains("signatures") || !j["signatures"].is_array())
    return Status::Error(bad + "\"signatures\" missing or not an array");
  DsseEnvelope e;
  e.payload_type = j["payloadType"].get<std::string>();
  Status st = Base64Decode(j["payload"].get<std::string>(), &e.payload);
  if (!st.ok()) return Status::Error(bad + "\"payload\": " + st.message());
  const auto& sigs = j["signatures"];
  if (sigs.empty()) return Status::Error(bad + "no signatures");
  for (size_t i = 0; i < sigs.size(); ++i) {
    const std::string at = "signatures[" + std::to_string(i) + "]";
    if (!sigs[i].is_object()) return Status::Error(bad + at + " is not an object");
    if (!sigs[i].contains("sig") || !sigs[i]["sig"].is_string())
      return Status::Error(bad + at + ".sig missing or not a string");
    DsseSignature s;
    if (sigs[i].contains("keyid")) {
      if (!sigs[i]["keyid"].is_string()) return Status::Error(bad + at + ".keyid is not a string");
      s.keyid = sigs[i]["keyid"].get<std::string>();
    }
    st = Base64Decode(sigs[i]["sig"].get<std::string>(), &s.sig);
    if (!st.ok()) return Status::Error(bad + at + ".sig: " + st.message());
    e.signatures.push_back(std::move(s));
  }
  *out = std::move(e);
  return Status::OK();
}

int DsseVerify(const DsseEnvelope& e, const Ed25519Key& key) {
  const std::string pae = DssePae(e.payload_type, e.payload);
  for (size_t i = 0; i < e.signatures.size(); ++i)
    if (key.Verify(pae, e.signatures[i].sig)) return (int)i;
  return -1;
}

}  // namespace modelc
