/// The sanitizers' default options, compiled into every executable of a
/// sanitizer or fuzz build (CMakeLists.txt). Built in rather than set in the
/// environment so that ctest's test discovery at build time, the servers the
/// e2e tests start and a sanitized binary started by hand all report the
/// same way; an `ASAN_OPTIONS`, `LSAN_OPTIONS` or `UBSAN_OPTIONS` set in the
/// environment still overrides each option.

#ifndef OMEGA_LSAN_SUPPRESSIONS
#  error "OMEGA_LSAN_SUPPRESSIONS must name tests/sanitizer/lsan.supp"
#endif

extern "C" {

/// Leak checking stays on (the default on Linux); the stack trace of each
/// report is what makes a CI log actionable.
const char* __asan_default_options() {
  return "detect_leaks=1:print_summary=1:strict_init_order=1";
}

/// Only third-party leaks are suppressed, each with its reason in the file.
const char* __lsan_default_options() {
  return "suppressions=" OMEGA_LSAN_SUPPRESSIONS ":print_suppressions=0";
}

/// -fno-sanitize-recover already stops at the first finding; the stack
/// trace says where it was.
const char* __ubsan_default_options() {
  return "print_stacktrace=1:halt_on_error=1";
}

} // extern "C"
