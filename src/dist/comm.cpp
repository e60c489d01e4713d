#include "dist/comm.h"

#include <cstdlib>
#include <vector>

#ifdef MODELC_WITH_MPI
#include <mpi.h>
#endif

namespace modelc {

namespace {

// Messages are split so that every count fits MPI's int.
constexpr size_t kChunk = size_t(1) << 26;

#ifdef MODELC_WITH_MPI
MPI_Datatype g_u128 = MPI_DATATYPE_NULL;
MPI_Op g_add128 = MPI_OP_NULL;

void Add128(void* in, void* inout, int* len, MPI_Datatype*) {
  ExactSum::AddWords(static_cast<uint64_t*>(inout), static_cast<const uint64_t*>(in), (size_t)*len);
}

void Finalize() {
  int done = 0;
  MPI_Finalized(&done);
  if (!done) MPI_Finalize();
}

// Launched by mpirun (Open MPI, or a PMI-based launcher)?
bool UnderMpiLauncher() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
}
#endif

}  // namespace

bool Comm::Available() {
#ifdef MODELC_WITH_MPI
  return true;
#else
  return false;
#endif
}

Comm& Comm::World() {
  static Comm* world = [] {
    Comm* c = new Comm;
#ifdef MODELC_WITH_MPI
    if (UnderMpiLauncher()) {
      int provided = 0;
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      std::atexit(Finalize);
      MPI_Comm_rank(MPI_COMM_WORLD, &c->rank_);
      MPI_Comm_size(MPI_COMM_WORLD, &c->size_);
      MPI_Type_contiguous(2, MPI_UINT64_T, &g_u128);
      MPI_Type_commit(&g_u128);
      MPI_Op_create(Add128, /*commute=*/1, &g_add128);
      c->mpi_ = true;
    }
#endif
    return c;
  }();
  return *world;
}

void Comm::SumExact(ExactSum* s) {
  if (!mpi_ || size_ == 1) return;
#ifdef MODELC_WITH_MPI
  uint64_t* w = s->words();
  for (size_t off = 0; off < s->size(); off += kChunk) {
    const size_t n = std::min(kChunk, s->size() - off);
    MPI_Allreduce(MPI_IN_PLACE, w + 2 * off, (int)n, g_u128, g_add128, MPI_COMM_WORLD);
  }
  uint64_t bad = s->nonfinite();
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
  s->set_nonfinite(bad);
#endif
}

void Comm::SumU64(uint64_t* v, size_t n) {
  if (!mpi_ || size_ == 1) return;
#ifdef MODELC_WITH_MPI
  for (size_t off = 0; off < n; off += kChunk)
    MPI_Allreduce(MPI_IN_PLACE, v + off, (int)std::min(kChunk, n - off), MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
#endif
}

void Comm::SumSlots(double* v, size_t n) {
  if (!mpi_ || size_ == 1) return;
#ifdef MODELC_WITH_MPI
  for (size_t off = 0; off < n; off += kChunk)
    MPI_Allreduce(MPI_IN_PLACE, v + off, (int)std::min(kChunk, n - off), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
#endif
}

void Comm::Broadcast(std::string* bytes) {
  if (!mpi_ || size_ == 1) return;
#ifdef MODELC_WITH_MPI
  uint64_t n = bytes->size();
  MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  bytes->resize(n);
  for (size_t off = 0; off < n; off += kChunk)
    MPI_Bcast(bytes->data() + off, (int)std::min<size_t>(kChunk, n - off), MPI_CHAR, 0, MPI_COMM_WORLD);
#endif
}

void Comm::Abort(int code) {
#ifdef MODELC_WITH_MPI
  if (mpi_) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::exit(code);
}

}  // namespace modelc
