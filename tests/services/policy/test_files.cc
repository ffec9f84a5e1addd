#include "tests/services/policy/test_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace sotto::policy::testing {

std::string MakeTempDir() {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base != nullptr ? base : "/tmp", "/policy-",
                                 getpid(), "-", counter++);
  if (mkdir(dir.c_str(), 0700) != 0) {
    std::perror(dir.c_str());
    std::abort();
  }
  return dir;
}

void WriteFile(const std::string& path, const std::string& contents) {
  // Write then rename, as a ConfigMap update does: readers never see half.
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << contents;
    if (!out) {
      std::perror(temp.c_str());
      std::abort();
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::perror(path.c_str());
    std::abort();
  }
}

std::string ExamplePolicyText() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  const std::string path =
      absl::StrCat(srcdir != nullptr ? srcdir : ".", "/",
                   workspace != nullptr ? workspace : "sotto",
                   "/services/policy/testdata/example-policy.yaml");
  std::ifstream in(path);
  if (!in) {
    std::perror(path.c_str());
    std::abort();
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string WriteExamplePolicy() {
  const std::string dir = MakeTempDir();
  WriteFile(dir + "/jwt-hs256.key", absl::StrCat(kHs256Secret, "\n"));
  const std::string path = dir + "/policy.yaml";
  WriteFile(path, ExamplePolicyText());
  return path;
}

}  // namespace sotto::policy::testing
