// Points ThreadSanitizer at tests/sanitizers/tsan.supp in every C++ test that
// links this library (see that file for why). Bazel runs tests from the
// workspace's runfiles root, so the relative path resolves. Without TSan the
// hook is never called.
extern "C" const char* __tsan_default_options() {
  return "suppressions=tests/sanitizers/tsan.supp:"
         "ignore_noninstrumented_modules=1";
}
