// Invariant check for fuzz targets: traps so both libFuzzer (clang) and the
// gcc corpus-replay tests report a crash with the offending input.
#ifndef SOTTO_TESTS_FUZZ_FUZZ_CHECK_H_
#define SOTTO_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>

#define FUZZ_CHECK(condition)                                          \
  do {                                                                 \
    if (!(condition)) {                                                \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, \
                   __LINE__, #condition);                              \
      __builtin_trap();                                                \
    }                                                                  \
  } while (0)

#endif  // SOTTO_TESTS_FUZZ_FUZZ_CHECK_H_
