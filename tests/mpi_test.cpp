// Distributed builds: `mpirun -np K modelc build` gives the same bytes as one
// process, resumes a checkpoint with another K, and stops cleanly when a rank
// dies. Skipped when modelc was configured without MPI (MODELC_MPIRUN empty).
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_util.h"
#include "compile/checkpoint.h"

namespace modelc {
namespace {

using namespace testutil;

SourceSpec MpiSpec() {
  SourceSpec s;
  s.name = "mpi";
  s.n_layer = 2;
  s.n_head = 2;
  s.n_embd = 64;
  s.context = 64;
  s.steps = 40;
  s.batch_size = 12;       // 6 micro-batches: 3 / 2 / 2 per rank for K = 2 / 3 / 4
  s.micro_batch_size = 2;
  s.eval_every = 8;
  s.eval_batches = 3;
  return s;
}

class Mpi : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::string src_, ref_hash_;

  void SetUp() override {
    if (std::string(MODELC_MPIRUN).empty()) GTEST_SKIP() << "modelc was built without MPI";
    UseSource(MpiSpec());
  }

  // Writes the source and builds the single-process reference.
  void UseSource(const SourceSpec& spec) {
    src_ = tmp_ / "src";
    WriteSource(src_, spec);
    Proc p = RunModelc({"build", src_, "-o", tmp_ / "ref.gguf", "-q", "--threads", "1"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    ref_hash_ = FileSha(tmp_ / "ref.gguf");
  }

  static const std::map<std::string, std::string>& Env() { return MpirunEnv(); }
  static Proc Mpirun(int np, const std::vector<std::string>& modelc_args) {
    Spawned sp = SpawnProgram(MODELC_MPIRUN, MpirunArgs(np, modelc_args), Env());
    return WaitModelc(sp);
  }
};

TEST_F(Mpi, SameBytesAsOneProcessForTwoAndThreeRanks) {
  for (int np : {2, 3}) {
    for (const char* threads : {"1", "2"}) {
      SCOPED_TRACE("np " + std::to_string(np) + ", threads " + threads);
      const std::string out = tmp_ / ("np" + std::to_string(np) + "t" + threads + ".gguf");
      Proc p = Mpirun(np, {"build", src_, "-o", out, "--threads", threads});
      ASSERT_TRUE(p.exited && p.code == 0) << p;
      EXPECT_EQ(FileSha(out), ref_hash_) << p;
      EXPECT_TRUE(Contains(p.out, "x " + std::to_string(np) + " processes")) << p;
      EXPECT_EQ(CountLines(p.out), 11) << "only rank 0 reports (the summary is 11 lines)\n" << p;
    }
  }
}

// Children of `pid` (its ranks, for mpirun), from /proc.
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> kids;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f(e.path() / "stat");
    std::string stat;
    std::getline(f, stat);
    const size_t rp = stat.rfind(')');
    if (rp == std::string::npos) continue;
    std::istringstream rest(stat.substr(rp + 2));
    char state;
    pid_t ppid;
    rest >> state >> ppid;
    if (ppid == pid) kids.push_back(std::stoi(name));
  }
  return kids;
}

TEST_F(Mpi, ResumeWithAnotherRankCountAndSurviveAKilledRank) {
  SourceSpec spec = MpiSpec();
  spec.steps = 150;  // long enough (a few seconds) to be stopped twice; progress every 7 steps
  UseSource(spec);
  const std::string out = tmp_ / "r.gguf";
  // 3 ranks, stopped with SIGTERM (mpirun stops its ranks) after step 28 or so.
  {
    Spawned sp = SpawnProgram(MODELC_MPIRUN, MpirunArgs(3, {"build", src_, "-o", out, "--checkpoint-every", "2",
                                                             "--threads", "1"}), Env());
    const bool seen = WaitForStderr(sp, "step (2[89]|3[0-9]|4[0-9])/");
    if (seen) ::kill(sp.pid, SIGTERM);
    Proc p = WaitModelc(sp);
    ASSERT_TRUE(seen) << p;
    EXPECT_FALSE(p.exited && p.code == 0) << p;
    EXPECT_FALSE(fs::exists(out)) << "a stopped job left an output file";
    EXPECT_FALSE(ListCheckpoints(tmp_ / "r.build").empty());
  }
  // 2 ranks resume it; one rank is killed with SIGKILL mid-run: the whole job
  // stops, with no output.
  {
    Spawned sp = SpawnProgram(MODELC_MPIRUN, MpirunArgs(2, {"build", src_, "-o", out, "--checkpoint-every", "2",
                                                             "--threads", "1"}), Env());
    const bool seen = WaitForStderr(sp, "step (9[0-9]|10[0-9]|11[0-9])/");
    std::vector<pid_t> kids = ChildrenOf(sp.pid);
    if (seen && !kids.empty()) ::kill(kids.back(), SIGKILL);
    Proc p = WaitModelc(sp);
    ASSERT_TRUE(seen) << p;
    ASSERT_FALSE(kids.empty()) << "no rank processes found under mpirun";
    EXPECT_TRUE(Contains(p.err, "resuming from step")) << p;
    EXPECT_FALSE(p.exited && p.code == 0) << "job with a killed rank exited 0\n" << p;
    EXPECT_FALSE(fs::exists(out)) << "a failed job left an output file";
  }
  // A plain single-process run finishes it: the same bytes.
  Proc p = RunModelc({"build", src_, "-o", out, "--threads", "2"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.err, "resuming from step")) << p;
  EXPECT_EQ(FileSha(out), ref_hash_);
}

}  // namespace
}  // namespace modelc
