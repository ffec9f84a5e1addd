// main() for the gcc-built corpus tests: replays every file in the given
// corpus directories through the fuzz target's LLVMFuzzerTestOneInput, so
// a regression on a checked-in input fails `bazel test` without clang.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      const std::vector<uint8_t> bytes(std::istreambuf_iterator<char>(in), {});
      std::fprintf(stderr, "replaying %s (%zu bytes)\n", entry.path().c_str(),
                   bytes.size());
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
      ++replayed;
    }
  }
  std::fprintf(stderr, "replayed %zu inputs\n", replayed);
  // An empty corpus means the data dependency broke, not that all is well.
  return replayed > 0 ? 0 : 1;
}
