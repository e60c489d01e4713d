// What the compiler actually emitted for the training path:
//  (a) no object file of src/kernels, src/layers, src/model, src/compile
//      calls a libm transcendental function (their results differ between
//      libm versions; the training path uses kernels/mathfn.h instead).
//      sqrt and fma are allowed: IEEE-754 correctly rounded.
//  (b) the modelc executable contains no approximate reciprocal / reciprocal
//      square root instructions (rcpps, rsqrtss, vrcp14ps, vrsqrt28ss, ...),
//      whose results differ between CPU vendors and generations.
// The object list comes from CMake ($<TARGET_OBJECTS:modelc_core>, written by
// file(GENERATE) to MODELC_CORE_OBJECTS_LIST); nm and objdump are CMake's
// CMAKE_NM / CMAKE_OBJDUMP.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace modelc {
namespace {

namespace fs = std::filesystem;

// Runs `cmd`, calling `line` for each line of its stdout. Returns the exit
// status (-1 if it could not be started).
template <class F>
int ForEachOutputLine(const std::string& cmd, F line) {
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return -1;
  std::string cur;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    for (size_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        line(cur);
        cur.clear();
      } else {
        cur += buf[i];
      }
    }
  }
  if (!cur.empty()) line(cur);
  return ::pclose(f);
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

bool ToolWorks(const std::string& tool) {
  return !tool.empty() && ForEachOutputLine(Quote(tool) + " --version 2>/dev/null", [](const std::string&) {}) == 0;
}

// Training-path objects of modelc_core, grouped by source folder.
std::map<std::string, std::vector<std::string>> TrainingPathObjects() {
  std::map<std::string, std::vector<std::string>> by_dir;
  std::ifstream list(MODELC_CORE_OBJECTS_LIST);
  EXPECT_TRUE(list.good()) << "cannot read " << MODELC_CORE_OBJECTS_LIST;
  std::string path;
  while (std::getline(list, path)) {
    for (const char* dir : {"kernels", "layers", "model", "compile"}) {
      if (path.find(std::string("/src/") + dir + "/") != std::string::npos) by_dir[dir].push_back(path);
    }
  }
  return by_dir;
}

// libm functions whose results are not correctly rounded (or not specified
// to be), as plain, _finite, long double and libmvec (_ZGV...) symbols.
bool IsForbiddenMathSymbol(const std::string& sym) {
  static const std::regex re(
      "(__)?(exp|exp2|exp10|expm1|log|log2|log10|log1p|logb|pow|pown|powr|tanh|sinh|cosh|asinh|"
      "acosh|atanh|sin|cos|tan|sincos|asin|acos|atan|atan2|erf|erfc|cbrt|hypot|lgamma|tgamma|"
      "lgamma_r|j0|j1|y0|y1|sinpi|cospi)[fl]?(_finite)?");
  return std::regex_match(sym, re) || sym.rfind("_ZGV", 0) == 0;
}

TEST(TrainingPathCode, NoLibmTranscendentalCalls) {
  const std::string nm = MODELC_NM;
  if (!ToolWorks(nm)) GTEST_SKIP() << "nm (" << nm << ") not available";
  const auto by_dir = TrainingPathObjects();
  for (const char* dir : {"kernels", "layers", "model", "compile"})
    ASSERT_TRUE(by_dir.count(dir) && !by_dir.at(dir).empty())
        << "no object of src/" << dir << " in " << MODELC_CORE_OBJECTS_LIST;

  std::set<std::string> all_undefined;
  std::vector<std::string> problems;
  for (const auto& [dir, objects] : by_dir) {
    for (const std::string& obj : objects) {
      ASSERT_TRUE(fs::exists(obj)) << obj << " missing (build modelc_core first)";
      std::vector<std::string> undefined;
      int rc = ForEachOutputLine(Quote(nm) + " -P -u " + Quote(obj), [&](const std::string& l) {
        std::istringstream is(l);
        std::string name;
        if (is >> name) undefined.push_back(name.substr(0, name.find('@')));
      });
      ASSERT_EQ(rc, 0) << nm << " -P -u " << obj << " failed";
      for (const std::string& s : undefined) {
        all_undefined.insert(s);
        if (IsForbiddenMathSymbol(s))
          problems.push_back(fs::path(obj).filename().string() + " (src/" + dir + ") calls " + s);
      }
    }
  }
  // nm worked and saw something (the objects call into OpenMP, libstdc++, ...).
  EXPECT_GT(all_undefined.size(), 10u);
  std::string msg;
  for (const std::string& p : problems) msg += "  " + p + "\n";
  EXPECT_TRUE(problems.empty())
      << "libm transcendental functions on the training path (use kernels/mathfn.h):\n" << msg;
}

TEST(TrainingPathCode, NoApproximateReciprocalInstructions) {
  const std::string objdump = MODELC_OBJDUMP;
  if (!ToolWorks(objdump)) GTEST_SKIP() << "objdump (" << objdump << ") not available";
  // rcpps rcpss rsqrtps rsqrtss and their v-forms, vrcp14* vrsqrt14* (AVX-512F),
  // vrcp28* vrsqrt28* vexp2p* (AVX-512ER), vrcpph vrsqrtph vrcpsh vrsqrtsh
  // (AVX-512 FP16), pfrcp* pfrsqrt* (3DNow!).
  auto approx = [](const std::string& w) {
    for (const char* p : {"rcp", "vrcp", "rsqrt", "vrsqrt", "pfrcp", "pfrsqrt", "vexp2p"})
      if (w.rfind(p, 0) == 0) return true;
    return false;
  };
  long instructions = 0;
  std::map<std::string, long> found;
  std::string first_hit;
  int rc = ForEachOutputLine(Quote(objdump) + " -d --no-show-raw-insn " + Quote(MODELC_BIN),
                             [&](const std::string& l) {
                               // "  4012a0:\tvfmadd231ps %zmm1,%zmm2,%zmm0"
                               const size_t tab = l.find('\t');
                               if (tab == std::string::npos || l.find(':') > tab) return;
                               ++instructions;
                               std::istringstream is(l.substr(tab + 1));
                               std::string w;
                               for (int i = 0; i < 3 && is >> w; ++i) {  // prefixes, mnemonic
                                 if (approx(w)) {
                                   ++found[w];
                                   if (first_hit.empty()) first_hit = l;
                                 }
                                 if (w.find('%') != std::string::npos || w.find(',') != std::string::npos) break;
                               }
                             });
  ASSERT_EQ(rc, 0) << objdump << " -d " << MODELC_BIN << " failed";
  EXPECT_GT(instructions, 10000) << "objdump printed almost no instructions for " << MODELC_BIN;
  std::string msg;
  for (const auto& [m, n] : found) msg += "  " + m + " x" + std::to_string(n) + "\n";
  EXPECT_TRUE(found.empty()) << "approximate reciprocal instructions in " << MODELC_BIN << ":\n"
                             << msg << "first: " << first_hit;
}

}  // namespace
}  // namespace modelc
