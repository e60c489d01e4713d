# Sourced by scripts/fuzz and scripts/sanitize: checks that clang-14's
# AddressSanitizer and LeakSanitizer can run on this machine before anything
# long runs under them, and adapts where the machine (not modelc) is the
# problem, saying so in one line:
#
#   - ASan of clang 14 crashes at start-up ("AddressSanitizer:DEADLYSIGNAL",
#     sometimes in an endless loop, and only on some runs) on kernels with
#     more address-space randomization bits than it knows (vm.mmap_rnd_bits
#     > 28 on x86-64): decided from that setting, not from a probe run,
#     sanitized programs then run under `setarch <arch> -R` (randomization
#     off for that process and its children only).
#   - LeakSanitizer stops the world with ptrace; where a sandbox refuses
#     ptrace it dies with "LeakSanitizer has encountered a fatal error":
#     leak checking is then turned off (detect_leaks=0), everything else stays.
#
#   sanitizer_probe CXX WORKDIR   sets SAN_RUN (an array: the prefix to run
#                                 sanitized programs with) and SAN_LEAKS (1|0);
#                                 returns non-zero, printing what the probe
#                                 printed, when the sanitizers cannot run.
sanitizer_probe() {
  local cxx=$1 dir=$2 out rc bits
  mkdir -p "$dir"
  # A program with one real leak: a working ASan + LSan reports it.
  printf '%s\n' '#include <cstdlib>' \
    'void* volatile keep;' \
    'int main() { keep = std::malloc(33); keep = nullptr; return 0; }' > "$dir/probe.cpp"
  if ! "$cxx" -fsanitize=address,undefined -g -O0 "$dir/probe.cpp" -o "$dir/probe" >"$dir/probe.log" 2>&1; then
    cat "$dir/probe.log"
    echo "sanitizer probe: $cxx cannot build an ASan program (log above)"
    return 1
  fi
  SAN_RUN=()
  SAN_LEAKS=1
  bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)
  if [ "$bits" -gt 28 ] 2>/dev/null; then
    SAN_RUN=(setarch "$(uname -m)" -R)
    echo "sanitizer probe: vm.mmap_rnd_bits=$bits (clang 14's ASan crashes at random with more than 28); running sanitized programs under ${SAN_RUN[*]}"
  fi
  _san_try() {  # the probe with ASAN_OPTIONS=detect_leaks=$1, at most 20 s
    out=$(ASAN_OPTIONS=detect_leaks=$1 LSAN_OPTIONS= timeout 20 "${SAN_RUN[@]}" "$dir/probe" 2>&1) && rc=0 || rc=$?
  }
  _san_try 1
  if grep -q 'ERROR: LeakSanitizer: detected memory leaks' <<<"$out"; then
    return 0
  fi
  if grep -qE 'LeakSanitizer has encountered a fatal error|LeakSanitizer does not work under ptrace' <<<"$out"; then
    _san_try 0
    if [ "$rc" -eq 0 ]; then
      SAN_LEAKS=0
      echo "sanitizer probe: LeakSanitizer cannot run on this machine (ptrace refused); leaks are not checked, ASan and UBSan are"
      return 0
    fi
  fi
  printf '%s\n' "$out" | head -40
  echo "sanitizer probe: ASan/LSan do not work on this machine (exit $rc; output above)"
  return 1
}
