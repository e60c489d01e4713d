// The process group of a data-parallel build.
//
// Under `mpirun -np K modelc build ...` (when modelc is built with MPI) this
// is MPI_COMM_WORLD; otherwise a group of one in which every collective is a
// no-op. Every reduction the trainer uses is exact, so its result does not
// depend on K, on the MPI library's reduction algorithm or on rank order:
//   - gradients: 128-bit fixed-point integers (compile/exact_sum.h), summed
//     with a user-defined commutative MPI op;
//   - counters: uint64 sums;
//   - per-micro-batch losses: "slots", each nonzero on exactly one rank, so
//     the float sum adds zeros only; the caller then sums slots in order.
// Collectives abort the whole job on an MPI error (MPI's default handler).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "compile/exact_sum.h"

namespace modelc {

class Comm {
 public:
  // The group this process was launched in (initializes MPI on first use
  // when launched by mpirun).
  static Comm& World();
  // Whether this modelc was built with MPI support.
  static bool Available();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }

  // Sums every rank's integers and non-finite counts; all ranks get the total.
  void SumExact(ExactSum* s);
  void SumU64(uint64_t* v, size_t n);
  // REQUIRES: each element is nonzero on at most one rank.
  void SumSlots(double* v, size_t n);
  // Root's bytes to every rank.
  void Broadcast(std::string* bytes);
  // Stops every rank of the job (after the caller printed why).
  [[noreturn]] void Abort(int code);

 private:
  Comm() = default;
  int rank_ = 0, size_ = 1;
  bool mpi_ = false;
};

}  // namespace modelc
