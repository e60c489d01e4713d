// Signed provenance: DSSE PAE and base64 against the specs' vectors,
// Ed25519 against RFC 8032, the in-toto/SLSA statement (structure,
// determinism, SOURCE_DATE_EPOCH, checks against the binary), and end to
// end: `modelc build` writes the statement, `modelc sign` / `modelc verify
// --signature` detect a flipped byte in the binary, the statement payload and
// the signature, a wrong key and a malformed envelope.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "binary/gguf.h"
#include "cli_util.h"
#include "provenance/dsse.h"
#include "provenance/ed25519.h"
#include "provenance/statement.h"
#include "util/sha256.h"

namespace modelc {
namespace {

using namespace testutil;

std::string Unhex(const std::string& h) {
  std::string s;
  for (size_t i = 0; i + 1 < h.size(); i += 2) s += (char)std::stoi(h.substr(i, 2), nullptr, 16);
  return s;
}

std::string Hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string h;
  for (unsigned char c : s) h += d[c >> 4], h += d[c & 15];
  return h;
}

// ---------------------------------------------------------------------------
// DSSE pieces.

TEST(Dsse, PaeIsTheSpecsEncoding) {
  // The example of the DSSE protocol document.
  EXPECT_EQ(DssePae("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  EXPECT_EQ(DssePae("", ""), "DSSEv1 0  0 ");
  // Lengths are byte lengths, not character counts.
  EXPECT_EQ(DssePae("t", "\xc3\xa9"), "DSSEv1 1 t 2 \xc3\xa9");
  EXPECT_EQ(DssePae(kInTotoPayloadType, std::string(1000, 'x')).substr(0, 45),
            "DSSEv1 28 application/vnd.in-toto+json 1000 x");
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> v[] = {{"", ""},         {"f", "Zg=="},     {"fo", "Zm8="},
                                                   {"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, enc] : v) {
    EXPECT_EQ(Base64Encode(plain), enc);
    std::string back;
    ASSERT_TRUE(Base64Decode(enc, &back).ok()) << enc;
    EXPECT_EQ(back, plain);
    // Unpadded input is accepted too.
    std::string unpadded = enc;
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
    ASSERT_TRUE(Base64Decode(unpadded, &back).ok()) << unpadded;
    EXPECT_EQ(back, plain);
  }
}

TEST(Base64, RoundTripEveryLengthAndByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += (char)i;
  for (size_t n = 0; n <= all.size(); ++n) {
    const std::string in = all.substr(256 - n) + all.substr(0, n % 7);
    std::string out;
    ASSERT_TRUE(Base64Decode(Base64Encode(in), &out).ok()) << n;
    ASSERT_EQ(out, in) << n;
  }
}

TEST(Base64, UrlSafeAlphabetDecodes) {
  std::string out;
  ASSERT_TRUE(Base64Decode("-_-_", &out).ok());
  std::string std_out;
  ASSERT_TRUE(Base64Decode("+/+/", &std_out).ok());
  EXPECT_EQ(out, std_out);
  EXPECT_EQ(Hex(out), "fbffbf");
}

TEST(Base64, RejectsBadText) {
  const struct {
    const char* text;
    const char* message;
  } bad[] = {{"Zm9v!A", "character '!' at offset 4"},
             {"Zm 9", "character byte 0x20 at offset 2"},
             {"+/-_", "mixes the standard and URL-safe"},
             {"Zg=", "not a multiple of 4"},
             {"Z", "impossible length"},
             {"Zh==", "non-zero bits"},
             {"Zm9=vg==", "character '=' at offset 3"}};
  for (const auto& b : bad) {
    std::string out;
    Status st = Base64Decode(b.text, &out);
    ASSERT_FALSE(st.ok()) << b.text;
    EXPECT_TRUE(Contains(st.message(), b.message)) << b.text << ": " << st.message();
  }
}

// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410: the fixed DER prefix).
std::string PemFromSeed(const std::string& seed_hex) {
  const std::string der = Unhex("302e020100300506032b657004220420" + seed_hex);
  return "-----BEGIN PRIVATE KEY-----\n" + Base64Encode(der) + "\n-----END PRIVATE KEY-----\n";
}

TEST(Ed25519, Rfc8032TestVectors) {
  // RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (one byte).
  const struct {
    const char *seed, *pub, *msg, *sig;
  } v[] = {{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
           {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"}};
  for (const auto& t : v) {
    Ed25519Key key;
    Status st = Ed25519Key::FromPem(PemFromSeed(t.seed), "vector", false, &key);
    ASSERT_TRUE(st.ok()) << st.message();
    std::string sig;
    ASSERT_TRUE(key.Sign(Unhex(t.msg), &sig).ok());
    EXPECT_EQ(Hex(sig), t.sig);
    // The public half: SubjectPublicKeyInfo = fixed prefix + the 32-byte key.
    std::string b64 = key.PublicPem();
    b64 = b64.substr(b64.find('\n') + 1);
    b64 = b64.substr(0, b64.find('-'));
    b64.erase(std::remove(b64.begin(), b64.end(), '\n'), b64.end());
    std::string der;
    ASSERT_TRUE(Base64Decode(b64, &der).ok());
    EXPECT_EQ(Hex(der), std::string("302a300506032b6570032100") + t.pub);
    EXPECT_EQ(key.KeyId(), Sha256Hex(der));
    Ed25519Key pub;
    ASSERT_TRUE(Ed25519Key::FromPem(key.PublicPem(), "pub", true, &pub).ok());
    EXPECT_FALSE(pub.has_private());
    EXPECT_TRUE(pub.Verify(Unhex(t.msg), sig));
    std::string flipped = sig;
    flipped[10] ^= 1;
    EXPECT_FALSE(pub.Verify(Unhex(t.msg), flipped));
    EXPECT_FALSE(pub.Verify(Unhex(t.msg) + "x", sig));
    EXPECT_FALSE(pub.Verify(Unhex(t.msg), sig.substr(0, 63)));
  }
}

TEST(Ed25519, KeyErrorsNameTheFileAndTheProblem) {
  Ed25519Key k;
  Status st = Ed25519Key::FromPem("hello", "k.pem", false, &k);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), "k.pem: not a PEM key")) << st.message();
  Ed25519Key gen;
  ASSERT_TRUE(Ed25519Key::Generate(&gen).ok());
  st = Ed25519Key::FromPem(gen.PublicPem(), "pub.pem", /*allow_public=*/false, &k);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), "pub.pem: this is a public key; signing needs the private key")) << st.message();
  // A truncated key.
  const std::string pem = gen.PrivatePem();
  st = Ed25519Key::FromPem(pem.substr(0, 40) + "\n-----END PRIVATE KEY-----\n", "bad.pem", false, &k);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), "bad.pem: cannot read the PEM key: ")) << st.message();
  // Another key type is refused by name (X25519: same size, another OID).
  const std::string x25519 = "-----BEGIN PRIVATE KEY-----\n" +
                             Base64Encode(Unhex("302e020100300506032b656e04220420" + std::string(64, '1'))) +
                             "\n-----END PRIVATE KEY-----\n";
  st = Ed25519Key::FromPem(x25519, "x.pem", false, &k);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), "x.pem: key type is X25519, expected Ed25519")) << st.message();
}

TEST(Dsse, SignVerifyAndTamper) {
  Ed25519Key key, other;
  ASSERT_TRUE(Ed25519Key::Generate(&key).ok());
  ASSERT_TRUE(Ed25519Key::Generate(&other).ok());
  DsseEnvelope e;
  ASSERT_TRUE(DsseSign(kInTotoPayloadType, "{\"a\":1}", key, &e).ok());
  ASSERT_EQ(e.signatures.size(), 1u);
  EXPECT_EQ(e.signatures[0].keyid, key.KeyId());
  // The signature is over PAE, not over the bare payload.
  EXPECT_TRUE(key.Verify(DssePae(kInTotoPayloadType, "{\"a\":1}"), e.signatures[0].sig));
  EXPECT_FALSE(key.Verify("{\"a\":1}", e.signatures[0].sig));
  EXPECT_EQ(DsseVerify(e, key), 0);
  EXPECT_EQ(DsseVerify(e, other), -1);

  DsseEnvelope parsed;
  ASSERT_TRUE(ParseDsseEnvelope(DsseEnvelopeJson(e), "e.json", &parsed).ok());
  EXPECT_EQ(parsed.payload, e.payload);
  EXPECT_EQ(parsed.payload_type, e.payload_type);
  EXPECT_EQ(DsseVerify(parsed, key), 0);
  const nlohmann::json j = nlohmann::json::parse(DsseEnvelopeJson(e));
  EXPECT_EQ(j["payload"], Base64Encode("{\"a\":1}"));
  EXPECT_EQ(j["payloadType"], "application/vnd.in-toto+json");
  EXPECT_EQ(j["signatures"][0]["keyid"], key.KeyId());

  for (size_t i = 0; i < e.payload.size(); ++i) {
    DsseEnvelope t = e;
    t.payload[i] ^= 0x01;
    EXPECT_EQ(DsseVerify(t, key), -1) << i;
  }
  for (size_t i = 0; i < 64; ++i) {
    DsseEnvelope t = e;
    t.signatures[0].sig[i] ^= 0x80;
    EXPECT_EQ(DsseVerify(t, key), -1) << i;
  }
  DsseEnvelope t = e;
  t.payload_type = "application/json";  // the type is authenticated too
  EXPECT_EQ(DsseVerify(t, key), -1);
  // A second signature by another key: the good one is found.
  DsseEnvelope two = e;
  DsseEnvelope by_other;
  ASSERT_TRUE(DsseSign(kInTotoPayloadType, e.payload, other, &by_other).ok());
  two.signatures.insert(two.signatures.begin(), by_other.signatures[0]);
  EXPECT_EQ(DsseVerify(two, key), 1);
  EXPECT_EQ(DsseVerify(two, other), 0);
}

TEST(Dsse, MalformedEnvelopes) {
  const struct {
    const char* text;
    const char* message;
  } bad[] = {
      {"", "not JSON"},
      {"[1]", "not a JSON object"},
      {R"({"payloadType":"x","signatures":[{"sig":"AA=="}]})", "\"payload\" missing or not a string"},
      {R"({"payload":5,"payloadType":"x","signatures":[{"sig":"AA=="}]})", "\"payload\" missing or not a string"},
      {R"({"payload":"","signatures":[{"sig":"AA=="}]})", "\"payloadType\" missing"},
      {R"({"payload":"","payloadType":"x","signatures":{}})", "\"signatures\" missing or not an array"},
      {R"({"payload":"","payloadType":"x","signatures":[]})", "no signatures"},
      {R"({"payload":"","payloadType":"x","signatures":[{"keyid":"k"}]})", "signatures[0].sig missing"},
      {R"({"payload":"","payloadType":"x","signatures":[{"sig":"AA==","keyid":3}]})", "signatures[0].keyid is not a string"},
      {R"({"payload":"","payloadType":"x","signatures":[{"sig":"A*=="}]})", "signatures[0].sig: invalid base64"},
      {R"({"payload":"@@","payloadType":"x","signatures":[{"sig":"AA=="}]})", "\"payload\": invalid base64"},
  };
  for (const auto& b : bad) {
    DsseEnvelope e;
    Status st = ParseDsseEnvelope(b.text, "env.json", &e);
    ASSERT_FALSE(st.ok()) << b.text;
    EXPECT_TRUE(Contains(st.message(), "env.json: malformed DSSE envelope: ")) << st.message();
    EXPECT_TRUE(Contains(st.message(), b.message)) << b.text << " -> " << st.message();
  }
  // Unknown fields are ignored (the spec says consumers must).
  DsseEnvelope e;
  EXPECT_TRUE(ParseDsseEnvelope(R"({"payload":"","payloadType":"x","signatures":[{"sig":"AA==","extra":1}],"x":2})",
                                "env.json", &e)
                  .ok());
}

// ---------------------------------------------------------------------------
// The statement, from a hand-made binary holding just the provenance keys.

const char kRecipe[] = R"({"data":[{"path":"a.txt","sha256":"aa"}],"format":"modelc-recipe/1","train":{"learning_rate":0.003,"steps":20}})";

std::string WriteFakeModel(const TempDir& t, const std::string& name, const std::string& recipe = kRecipe,
                           bool with_base = false) {
  GgufWriter w;
  w.SetString("general.architecture", "gpt2");
  w.SetString("modelc.version", "9.9.9");
  w.SetString("modelc.source_hash", Sha256Hex(recipe));
  w.SetString("modelc.recipe", recipe);
  nlohmann::json m = nlohmann::json::array();
  m.push_back({{"title", "Data A"}, {"author", "Ann"}, {"license", "CC0-1.0"}, {"source_url", "https://example.org/a"},
               {"path", "a.txt"}, {"sha256", std::string(64, 'a')}, {"bytes", 1234}, {"tokens_used", 99}});
  m.push_back({{"title", "Data B"}, {"author", "Bob"}, {"license", "CC-BY-4.0"}, {"source_url", ""},
               {"path", "/abs/b.txt"}, {"sha256", std::string(64, 'b')}, {"bytes", 5}});
  w.SetString("modelc.data_manifest", m.dump());
  if (with_base) {
    w.SetU32("general.base_model.count", 1);
    w.SetString("general.base_model.0.name", "parent-gpt");
    w.SetString("general.base_model.0.url", "https://example.org/parent.gguf");
    w.SetString("modelc.base_model.0.sha256", std::string(64, 'c'));
  }
  const std::vector<float> data = {1, 2, 3, 4};
  w.AddTensorF32("t", {4}, data.data());
  const std::string path = t / name;
  EXPECT_TRUE(w.Write(path).ok());
  return path;
}

TEST(Statement, StructureAndFieldNames) {
  TempDir t;
  const std::string model = WriteFakeModel(t, "m.gguf");
  StatementInputs in;
  ASSERT_TRUE(StatementInputsFromModel(model, &in).ok());
  const std::string text = StatementJson(in);
  ASSERT_EQ(text.back(), '\n');
  const nlohmann::json j = nlohmann::json::parse(text);
  EXPECT_EQ(j["_type"], "https://in-toto.io/Statement/v1");
  EXPECT_EQ(j["predicateType"], "https://slsa.dev/provenance/v1");
  ASSERT_EQ(j["subject"].size(), 1u);
  EXPECT_EQ(j["subject"][0]["name"], "m.gguf");
  EXPECT_EQ(j["subject"][0]["digest"]["sha256"], FileSha(model));
  const auto& bd = j["predicate"]["buildDefinition"];
  EXPECT_EQ(bd["buildType"], kModelcBuildType);
  EXPECT_EQ(bd["externalParameters"]["recipe"], nlohmann::json::parse(kRecipe));
  EXPECT_EQ(bd["externalParameters"]["sourceHash"], Sha256Hex(kRecipe));
  // The source hash can be recomputed from the statement alone.
  EXPECT_EQ(Sha256Hex(bd["externalParameters"]["recipe"].dump()), bd["externalParameters"]["sourceHash"]);
  EXPECT_EQ(bd["internalParameters"]["modelcVersion"], "9.9.9");
  ASSERT_EQ(bd["resolvedDependencies"].size(), 2u);
  const auto& d0 = bd["resolvedDependencies"][0];
  EXPECT_EQ(d0["name"], "a.txt");
  EXPECT_EQ(d0["uri"], "https://example.org/a");
  EXPECT_EQ(d0["digest"]["sha256"], std::string(64, 'a'));
  EXPECT_EQ(d0["annotations"]["title"], "Data A");
  EXPECT_EQ(d0["annotations"]["license"], "CC0-1.0");
  EXPECT_EQ(d0["annotations"]["author"], "Ann");
  EXPECT_EQ(d0["annotations"]["bytes"], "1234");
  EXPECT_FALSE(bd["resolvedDependencies"][1].contains("uri"));  // no URL, no uri
  const auto& rd = j["predicate"]["runDetails"];
  EXPECT_EQ(rd["builder"]["id"], kModelcBuilderId);
  EXPECT_EQ(rd["builder"]["version"]["modelc"], "9.9.9");
  EXPECT_FALSE(rd.contains("metadata"));  // no timestamps without SOURCE_DATE_EPOCH
  EXPECT_FALSE(Contains(text, "startedOn"));
  EXPECT_FALSE(Contains(text, "finishedOn"));
  // Same binary, same bytes.
  StatementInputs again;
  ASSERT_TRUE(StatementInputsFromModel(model, &again).ok());
  EXPECT_EQ(StatementJson(again), text);
}

TEST(Statement, SourceDateEpochAddsOnlyFinishedOn) {
  TempDir t;
  StatementInputs in;
  ASSERT_TRUE(StatementInputsFromModel(WriteFakeModel(t, "m.gguf"), &in).ok());
  in.source_date_epoch = 1700000000;
  const nlohmann::json j = nlohmann::json::parse(StatementJson(in));
  EXPECT_EQ(j["predicate"]["runDetails"]["metadata"], nlohmann::json({{"finishedOn", "2023-11-14T22:13:20Z"}}));
  in.source_date_epoch = 0;
  EXPECT_EQ(nlohmann::json::parse(StatementJson(in))["predicate"]["runDetails"]["metadata"]["finishedOn"],
            "1970-01-01T00:00:00Z");

  std::optional<int64_t> e;
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  ASSERT_TRUE(SourceDateEpochFromEnv(&e).ok());
  EXPECT_EQ(e, std::optional<int64_t>(1700000000));
  for (const char* bad : {"-5", "12x", "1.5", " 1", "99999999999999999999"}) {
    ::setenv("SOURCE_DATE_EPOCH", bad, 1);
    Status st = SourceDateEpochFromEnv(&e);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_TRUE(Contains(st.message(), "SOURCE_DATE_EPOCH=\"" + std::string(bad) + "\" is not")) << st.message();
  }
  ::setenv("SOURCE_DATE_EPOCH", "", 1);
  ASSERT_TRUE(SourceDateEpochFromEnv(&e).ok());
  EXPECT_FALSE(e.has_value());
  ::unsetenv("SOURCE_DATE_EPOCH");
  ASSERT_TRUE(SourceDateEpochFromEnv(&e).ok());
  EXPECT_FALSE(e.has_value());
}

TEST(Statement, BaseModelBecomesADependency) {
  TempDir t;
  StatementInputs in;
  ASSERT_TRUE(StatementInputsFromModel(WriteFakeModel(t, "m.gguf", kRecipe, /*with_base=*/true), &in).ok());
  const nlohmann::json deps = nlohmann::json::parse(StatementJson(in))["predicate"]["buildDefinition"]["resolvedDependencies"];
  ASSERT_EQ(deps.size(), 3u);
  EXPECT_EQ(deps[2]["name"], "parent-gpt");
  EXPECT_EQ(deps[2]["uri"], "https://example.org/parent.gguf");
  EXPECT_EQ(deps[2]["digest"]["sha256"], std::string(64, 'c'));
  EXPECT_EQ(deps[2]["annotations"]["role"], "base model");
}

TEST(Statement, NotAModelcBuild) {
  TempDir t;
  GgufWriter w;
  w.SetString("general.architecture", "gpt2");
  ASSERT_TRUE(w.Write(t / "plain.gguf").ok());
  StatementInputs in;
  Status st = StatementInputsFromModel(t / "plain.gguf", &in);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), "plain.gguf: no modelc.source_hash")) << st.message();
  WriteText(t / "junk.gguf", "not gguf");
  EXPECT_FALSE(StatementInputsFromModel(t / "junk.gguf", &in).ok());
}

TEST(Statement, ParseRejectsWhatIsNotOurs) {
  TempDir t;
  StatementInputs in;
  ASSERT_TRUE(StatementInputsFromModel(WriteFakeModel(t, "m.gguf"), &in).ok());
  const nlohmann::json good = nlohmann::json::parse(StatementJson(in));
  ParsedStatement p;
  ASSERT_TRUE(ParseStatement(good.dump(), "s.json", &p).ok());
  EXPECT_EQ(p.subject_sha256, in.subject_sha256);
  EXPECT_EQ(p.source_hash, in.source_hash);
  const struct {
    std::function<void(nlohmann::json&)> edit;
    const char* message;
  } cases[] = {
      {[](nlohmann::json& j) { j["_type"] = "https://in-toto.io/Statement/v0.1"; }, "_type is"},
      {[](nlohmann::json& j) { j["predicateType"] = "https://slsa.dev/provenance/v0.2"; }, "predicateType is"},
      {[](nlohmann::json& j) { j["subject"] = nlohmann::json::array(); }, "exactly one subject"},
      {[](nlohmann::json& j) { j["subject"].push_back(j["subject"][0]); }, "exactly one subject"},
      {[](nlohmann::json& j) { j["subject"][0]["digest"] = {{"sha512", "ab"}}; }, "no sha256 digest"},
      {[](nlohmann::json& j) { j["predicate"].erase("buildDefinition"); }, "buildDefinition missing"},
      {[](nlohmann::json& j) { j["predicate"]["buildDefinition"]["buildType"] = "https://x"; }, "buildType is"},
      {[](nlohmann::json& j) { j["predicate"]["buildDefinition"]["externalParameters"].erase("sourceHash"); },
       "sourceHash missing"},
      {[](nlohmann::json& j) { j["predicate"]["buildDefinition"]["externalParameters"]["recipe"] = "x"; },
       "recipe missing"},
  };
  for (const auto& c : cases) {
    nlohmann::json j = good;
    c.edit(j);
    Status st = ParseStatement(j.dump(), "s.json", &p);
    ASSERT_FALSE(st.ok()) << c.message;
    EXPECT_TRUE(Contains(st.message(), "s.json: not a modelc provenance statement: ")) << st.message();
    EXPECT_TRUE(Contains(st.message(), c.message)) << st.message();
  }
  EXPECT_TRUE(Contains(ParseStatement("{", "s.json", &p).message(), "not JSON"));
}

TEST(Statement, CheckAgainstTheBinaryFindsEveryChange) {
  TempDir t;
  StatementInputs in;
  ASSERT_TRUE(StatementInputsFromModel(WriteFakeModel(t, "m.gguf"), &in).ok());
  const nlohmann::json good = nlohmann::json::parse(StatementJson(in));
  ParsedStatement p;
  ASSERT_TRUE(ParseStatement(good.dump(), "s", &p).ok());
  EXPECT_TRUE(CheckStatementMatchesModel(p, in, "s", "m").ok());
  // Subject name and metadata may differ (renamed file, SOURCE_DATE_EPOCH).
  {
    nlohmann::json j = good;
    j["subject"][0]["name"] = "renamed.gguf";
    j["predicate"]["runDetails"]["metadata"] = {{"finishedOn", "2020-01-01T00:00:00Z"}};
    ASSERT_TRUE(ParseStatement(j.dump(), "s", &p).ok());
    EXPECT_TRUE(CheckStatementMatchesModel(p, in, "s", "m").ok());
  }
  const struct {
    std::function<void(nlohmann::json&)> edit;
    const char* message;
  } cases[] = {
      {[](nlohmann::json& j) { j["subject"][0]["digest"]["sha256"] = std::string(64, '0'); },
       "the subject digest in s is sha256 0000"},
      {[](nlohmann::json& j) { j["predicate"]["buildDefinition"]["externalParameters"]["sourceHash"] = "ff"; },
       "s states source hash ff, but m records"},
      {[](nlohmann::json& j) { j["predicate"]["buildDefinition"]["externalParameters"]["recipe"]["train"]["steps"] = 21; },
       "the recipe in s is not the one m records"},
      {[](nlohmann::json& j) { j["predicate"]["buildDefinition"]["resolvedDependencies"][1]["digest"]["sha256"] = "00"; },
       "differs from the provenance recorded in m at /predicate/buildDefinition/resolvedDependencies/1/digest/sha256"},
      {[](nlohmann::json& j) { j["predicate"]["buildDefinition"]["resolvedDependencies"].erase(0); },
       "differs from the provenance recorded in m at /predicate/buildDefinition/resolvedDependencies"},
      {[](nlohmann::json& j) { j["predicate"]["runDetails"]["builder"]["version"]["modelc"] = "0.0.1"; },
       "at /predicate/runDetails/builder/version/modelc"},
      {[](nlohmann::json& j) { j["predicate"]["extra"] = 1; }, "at /predicate/extra"},
  };
  for (const auto& c : cases) {
    nlohmann::json j = good;
    c.edit(j);
    ASSERT_TRUE(ParseStatement(j.dump(), "s", &p).ok());
    Status st = CheckStatementMatchesModel(p, in, "s", "m");
    ASSERT_FALSE(st.ok()) << c.message;
    EXPECT_TRUE(Contains(st.message(), c.message)) << st.message();
  }
}

// ---------------------------------------------------------------------------
// End to end with the modelc binary.

class ProvenanceCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    SourceSpec s;
    s.name = "prov-tiny";
    s.steps = 6;
    s.n_layer = 1;
    WriteSource(*dir_ / "src", s);
    Proc p = RunModelc({"build", *dir_ / "src", "-o", *dir_ / "m.gguf", "-q"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    Ed25519Key key, other;
    ASSERT_TRUE(Ed25519Key::Generate(&key).ok());
    ASSERT_TRUE(Ed25519Key::Generate(&other).ok());
    WriteText(*dir_ / "key.pem", key.PrivatePem());
    WriteText(*dir_ / "pub.pem", key.PublicPem());
    WriteText(*dir_ / "other.pem", other.PublicPem());
    keyid_ = new std::string(key.KeyId());
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete keyid_;
  }
  // A copy of the model and a fresh signature, in a folder of their own.
  void SetUp() override {
    fs::copy_file(*dir_ / "m.gguf", t_ / "m.gguf");
    fs::copy_file(*dir_ / "m.gguf.intoto.json", t_ / "m.gguf.intoto.json");
    Proc p = RunModelc({"sign", t_ / "m.gguf", "--key", *dir_ / "key.pem"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    sig_ = t_ / "m.gguf.dsse.json";
  }
  Proc Verify(const std::string& model, const std::string& sig, const std::string& key = "") {
    return RunModelc({"verify", model, "--signature", sig, "--key", key.empty() ? *dir_ / "pub.pem" : key});
  }
  static TempDir* dir_;
  static std::string* keyid_;
  TempDir t_;
  std::string sig_;
};
TempDir* ProvenanceCli::dir_ = nullptr;
std::string* ProvenanceCli::keyid_ = nullptr;

TEST_F(ProvenanceCli, BuildWritesTheStatementBesideTheBinary) {
  const std::string text = Slurp(*dir_ / "m.gguf.intoto.json");
  const nlohmann::json j = nlohmann::json::parse(text);
  EXPECT_EQ(j["subject"][0]["name"], "m.gguf");
  EXPECT_EQ(j["subject"][0]["digest"]["sha256"], FileSha(*dir_ / "m.gguf"));
  const auto& deps = j["predicate"]["buildDefinition"]["resolvedDependencies"];
  ASSERT_EQ(deps.size(), 1u);
  EXPECT_EQ(deps[0]["name"], "corpus.txt");
  EXPECT_EQ(deps[0]["digest"]["sha256"], FileSha(*dir_ / "src/corpus.txt"));
  EXPECT_EQ(deps[0]["uri"], kDataUrl);
  EXPECT_EQ(deps[0]["annotations"]["title"], kDataTitle);
  std::unique_ptr<GgufFile> f;
  ASSERT_TRUE(GgufFile::Open(*dir_ / "m.gguf", &f).ok());
  std::string source_hash;
  ASSERT_TRUE(f->GetString("modelc.source_hash", &source_hash).ok());
  EXPECT_EQ(j["predicate"]["buildDefinition"]["externalParameters"]["sourceHash"], source_hash);

  // Same source, another thread count and folder: the same statement bytes.
  TempDir t2;
  Proc p = RunModelc({"build", *dir_ / "src", "-o", t2 / "m.gguf", "-q", "--threads", "2", "--json"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_EQ(nlohmann::json::parse(p.out)["statement"], t2 / "m.gguf.intoto.json");
  EXPECT_EQ(Slurp(t2 / "m.gguf.intoto.json"), text);
  // Up to date: nothing rebuilt, but a missing statement is written again.
  fs::remove(t2 / "m.gguf.intoto.json");
  p = RunModelc({"build", *dir_ / "src", "-o", t2 / "m.gguf"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.out, "is up to date")) << p;
  EXPECT_EQ(Slurp(t2 / "m.gguf.intoto.json"), text);
}

TEST_F(ProvenanceCli, SourceDateEpochTimestampsAndBadValues) {
  TempDir t2;
  Proc p = RunModelc({"build", *dir_ / "src", "-o", t2 / "m.gguf", "-q"}, {{"SOURCE_DATE_EPOCH", "1700000000"}});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  const nlohmann::json j = nlohmann::json::parse(Slurp(t2 / "m.gguf.intoto.json"));
  EXPECT_EQ(j["predicate"]["runDetails"]["metadata"]["finishedOn"], "2023-11-14T22:13:20Z");
  // The binary itself never holds the time.
  EXPECT_EQ(FileSha(t2 / "m.gguf"), FileSha(*dir_ / "m.gguf"));
  // A bad value stops the build before training, with no output.
  TempDir t3;
  p = RunModelc({"build", *dir_ / "src", "-o", t3 / "m.gguf", "-q"}, {{"SOURCE_DATE_EPOCH", "yesterday"}});
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.err, "modelc: error: SOURCE_DATE_EPOCH=\"yesterday\" is not a number of seconds")) << p;
  EXPECT_FALSE(fs::exists(t3 / "m.gguf"));
}

TEST_F(ProvenanceCli, SignThenVerifyIsValid) {
  const nlohmann::json env = nlohmann::json::parse(Slurp(sig_));
  EXPECT_EQ(env["payloadType"], "application/vnd.in-toto+json");
  std::string payload;
  ASSERT_TRUE(Base64Decode(env["payload"].get<std::string>(), &payload).ok());
  EXPECT_EQ(payload, Slurp(t_ / "m.gguf.intoto.json"));  // the build's statement, byte for byte
  EXPECT_EQ(env["signatures"][0]["keyid"], *keyid_);
  Proc p = Verify(t_ / "m.gguf", sig_);
  EXPECT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.out, "valid: " + sig_ + " is a good Ed25519 signature (key id " + *keyid_ + ")")) << p;
  // --json
  p = RunModelc({"verify", t_ / "m.gguf", "--signature", sig_, "--key", *dir_ / "pub.pem", "--json"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  const nlohmann::json j = nlohmann::json::parse(p.out);
  EXPECT_EQ(j["result"], "valid");
  EXPECT_EQ(j["model_sha256"], FileSha(t_ / "m.gguf"));
  // The private key works as the verification key too (its public half).
  p = Verify(t_ / "m.gguf", sig_, *dir_ / "key.pem");
  EXPECT_TRUE(p.exited && p.code == 0) << p;
}

TEST_F(ProvenanceCli, FlippedByteInTheBinaryIsDetected) {
  const std::string model = Slurp(t_ / "m.gguf");
  // One byte in the tensor data, one in the metadata (a key's string).
  for (size_t at : {model.size() - 40, model.find("prov-tiny")}) {
    std::string m = model;
    m[at] ^= 0x01;
    WriteText(t_ / "m.gguf", m);
    Proc p = Verify(t_ / "m.gguf", sig_);
    EXPECT_TRUE(p.exited && p.code == 1) << at << p;
    EXPECT_TRUE(Contains(p.out, "invalid: " + t_ / "m.gguf" + " has sha256 " + Sha256Hex(m) +
                                    ", but the signed statement is about sha256 " + Sha256Hex(model)))
        << p;
  }
}

TEST_F(ProvenanceCli, FlippedByteInTheStatementPayloadIsDetected) {
  nlohmann::json env = nlohmann::json::parse(Slurp(sig_));
  std::string payload;
  ASSERT_TRUE(Base64Decode(env["payload"].get<std::string>(), &payload).ok());
  for (size_t at : {payload.find("sha256") + 12, payload.find("sourceHash") + 20, payload.size() / 2}) {
    std::string bad = payload;
    bad[at] ^= 0x01;
    env["payload"] = Base64Encode(bad);
    WriteText(t_ / "bad.json", env.dump());
    Proc p = Verify(t_ / "m.gguf", t_ / "bad.json");
    EXPECT_TRUE(p.exited && p.code == 1) << at << p;
    EXPECT_TRUE(Contains(p.out, "invalid: no signature in " + t_ / "bad.json" + " verifies with " + *dir_ / "pub.pem" +
                                    ": the signed statement or the signature was changed"))
        << p;
  }
}

TEST_F(ProvenanceCli, FlippedByteInTheSignatureIsDetected) {
  nlohmann::json env = nlohmann::json::parse(Slurp(sig_));
  std::string sig;
  ASSERT_TRUE(Base64Decode(env["signatures"][0]["sig"].get<std::string>(), &sig).ok());
  ASSERT_EQ(sig.size(), 64u);
  for (size_t at : {0, 31, 63}) {
    std::string bad = sig;
    bad[at] ^= 0x01;
    env["signatures"][0]["sig"] = Base64Encode(bad);
    WriteText(t_ / "bad.json", env.dump());
    Proc p = Verify(t_ / "m.gguf", t_ / "bad.json");
    EXPECT_TRUE(p.exited && p.code == 1) << at << p;
    EXPECT_TRUE(Contains(p.out, "the signed statement or the signature was changed")) << p;
  }
  // Any single byte of the envelope file flipped: never "valid".
  const std::string file = Slurp(sig_);
  const size_t sig_at = file.find("\"sig\": \"") + 8;
  for (size_t at : {sig_at, sig_at + 40, file.find("\"payload\": \"") + 30, file.find("payloadType") + 20, (size_t)0}) {
    std::string bad = file;
    bad[at] ^= 0x01;
    WriteText(t_ / "bad.json", bad);
    Proc p = Verify(t_ / "m.gguf", t_ / "bad.json");
    EXPECT_TRUE(p.exited && (p.code == 1 || p.code == 2)) << at << p;
    EXPECT_FALSE(Contains(p.out, "valid: ") && !Contains(p.out, "invalid: ")) << p;
    EXPECT_EQ(CountLines(p.out + p.err), 1) << p;
  }
}

TEST_F(ProvenanceCli, WrongKeyIsDetected) {
  Proc p = Verify(t_ / "m.gguf", sig_, *dir_ / "other.pem");
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.out, "it was signed with another key (key id " + *keyid_)) << p;
}

TEST_F(ProvenanceCli, MalformedEnvelopeAndMissingFilesAreTrouble) {
  WriteText(t_ / "bad.json", "{\"payload\": 1}");
  Proc p = Verify(t_ / "m.gguf", t_ / "bad.json");
  EXPECT_TRUE(p.exited && p.code == 2) << p;
  EXPECT_TRUE(Contains(p.err, "modelc: error: " + t_ / "bad.json" + ": malformed DSSE envelope: \"payload\" missing or not a string")) << p;
  p = Verify(t_ / "m.gguf", t_ / "missing.json");
  EXPECT_TRUE(p.exited && p.code == 2) << p;
  EXPECT_TRUE(Contains(p.err, "missing.json")) << p;
  p = Verify(t_ / "m.gguf", sig_, t_ / "nokey.pem");
  EXPECT_TRUE(p.exited && p.code == 2) << p;
  p = RunModelc({"verify", t_ / "m.gguf", "--signature", sig_});
  EXPECT_TRUE(p.exited && p.code == 2) << p;
  EXPECT_TRUE(Contains(p.err, "--signature needs --key PUB.pem")) << p;
  p = RunModelc({"verify", t_ / "m.gguf"});
  EXPECT_TRUE(p.exited && p.code == 2) << p;
  EXPECT_TRUE(Contains(p.err, "verify needs --source DIR")) << p;
  // A payload that is signed but is not an in-toto statement.
  Ed25519Key key;
  ASSERT_TRUE(Ed25519Key::Load(*dir_ / "key.pem", false, &key).ok());
  DsseEnvelope e;
  ASSERT_TRUE(DsseSign("text/plain", "hello", key, &e).ok());
  WriteText(t_ / "plain.json", DsseEnvelopeJson(e));
  p = Verify(t_ / "m.gguf", t_ / "plain.json");
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.out, "has payloadType \"text/plain\", expected \"application/vnd.in-toto+json\"")) << p;
  ASSERT_TRUE(DsseSign(kInTotoPayloadType, "{}", key, &e).ok());
  WriteText(t_ / "plain.json", DsseEnvelopeJson(e));
  p = Verify(t_ / "m.gguf", t_ / "plain.json");
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.out, "not a modelc provenance statement")) << p;
}

TEST_F(ProvenanceCli, SignChecksTheStatementAndRegeneratesAMissingOne) {
  const std::string statement = Slurp(t_ / "m.gguf.intoto.json");
  // A changed statement beside the binary is refused.
  std::string bad = statement;
  const size_t at = bad.find("\"title\": \"", bad.find("resolvedDependencies")) + 10;
  bad[at] ^= 0x01;
  WriteText(t_ / "m.gguf.intoto.json", bad);
  Proc p = RunModelc({"sign", t_ / "m.gguf", "--key", *dir_ / "key.pem", "-o", t_ / "x.json"});
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.err, "refusing to sign: " + t_ / "m.gguf.intoto.json" +
                                  " differs from the provenance recorded in " + t_ / "m.gguf" +
                                  " at /predicate/buildDefinition/resolvedDependencies/0/annotations/title"))
      << p;
  EXPECT_FALSE(fs::exists(t_ / "x.json"));
  // Without a statement: regenerated from the binary, the same bytes.
  fs::remove(t_ / "m.gguf.intoto.json");
  p = RunModelc({"sign", t_ / "m.gguf", "--key", *dir_ / "key.pem", "-o", t_ / "x.json", "--json"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(nlohmann::json::parse(p.out)["statement"].is_null());
  DsseEnvelope e;
  ASSERT_TRUE(ParseDsseEnvelope(Slurp(t_ / "x.json"), "x", &e).ok());
  EXPECT_EQ(e.payload, statement);
  EXPECT_EQ(Verify(t_ / "m.gguf", t_ / "x.json").code, 0);
  // Signing needs the private key.
  p = RunModelc({"sign", t_ / "m.gguf", "--key", *dir_ / "pub.pem"});
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.err, "this is a public key; signing needs the private key")) << p;
  // Not a modelc build.
  WriteText(t_ / "junk.gguf", "junk");
  p = RunModelc({"sign", t_ / "junk.gguf", "--key", *dir_ / "key.pem"});
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_EQ(CountLines(p.err), 1) << p;
  p = RunModelc({"sign", "--help"});
  EXPECT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.out, "--key")) << p;
}

TEST_F(ProvenanceCli, OpensslCliKeysWork) {
  // Keys as the README makes them, when the openssl tool is installed.
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl command";
  const std::string cmd = "openssl genpkey -algorithm ed25519 -out " + t_ / "k.pem" + " && openssl pkey -in " +
                          t_ / "k.pem" + " -pubout -out " + t_ / "k.pub";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  Proc p = RunModelc({"sign", t_ / "m.gguf", "--key", t_ / "k.pem", "-o", t_ / "o.json"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  p = Verify(t_ / "m.gguf", t_ / "o.json", t_ / "k.pub");
  EXPECT_TRUE(p.exited && p.code == 0) << p;
  p = Verify(t_ / "m.gguf", t_ / "o.json");  // the suite's key is another one
  EXPECT_TRUE(p.exited && p.code == 1) << p;
}

}  // namespace
}  // namespace modelc
