// Training progress for people: a one-line bar redrawn in place on a
// terminal; plain log lines otherwise (pipes, CI logs).
#pragma once
#include <cstdio>

#include "compile/trainer.h"

namespace modelc {

class ProgressPrinter {
 public:
  // out: where to print (stderr). tty: draw a bar (else plain lines).
  ProgressPrinter(FILE* out, bool tty) : out_(out), tty_(tty) {}
  void Update(const StepInfo& s);
  void Finish();  // ends the bar's line

 private:
  FILE* out_;
  bool tty_;
  bool drawn_ = false;
  double last_val_ = -1;
};

// "1:05", "12:03:09"
std::string FormatDuration(double seconds);

}  // namespace modelc
