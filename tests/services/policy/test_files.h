// Test helpers for the policy tests: fresh temp directories, files, and the
// shipped example document copied next to a generated key.
#ifndef SOTTO_TESTS_SERVICES_POLICY_TEST_FILES_H_
#define SOTTO_TESTS_SERVICES_POLICY_TEST_FILES_H_

#include <string>

namespace sotto::policy::testing {

// A new empty directory under $TEST_TMPDIR.
std::string MakeTempDir();
// Writes `contents` to `path` (replacing it); aborts the test binary on error.
void WriteFile(const std::string& path, const std::string& contents);
// The text of services/policy/testdata/example-policy.yaml from runfiles.
std::string ExamplePolicyText();
// An HS256 secret of 40 bytes used with the example document.
inline constexpr char kHs256Secret[] =
    "test-secret-0123456789-abcdefghijklmnopq";
// Copies the example document into a fresh directory with its key file
// (jwt-hs256.key = kHs256Secret); returns the document's path.
std::string WriteExamplePolicy();

}  // namespace sotto::policy::testing

#endif  // SOTTO_TESTS_SERVICES_POLICY_TEST_FILES_H_
