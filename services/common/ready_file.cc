#include "services/common/ready_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace sotto::service_kit {

absl::Status WriteReadyFile(const std::string& path, int grpc_port,
                            int metrics_port) {
  const nlohmann::json contents = {{"grpc_port", grpc_port},
                                   {"metrics_port", metrics_port},
                                   {"pid", static_cast<int64_t>(getpid())}};
  const std::string text = contents.dump() + "\n";
  const std::string temporary = absl::StrCat(path, ".tmp.", getpid());
  auto error = [&](absl::string_view what) {
    const int saved = errno;
    std::remove(temporary.c_str());
    return absl::UnavailableError(absl::StrCat("--ready_file \"", path,
                                               "\": cannot ", what, ": ",
                                               std::strerror(saved)));
  };
  std::FILE* file = std::fopen(temporary.c_str(), "w");
  if (file == nullptr) return error("create");
  const bool written =
      std::fwrite(text.data(), 1, text.size(), file) == text.size();
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) return error("write");
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return error("rename into place");
  }
  return absl::OkStatus();
}

absl::Status RemoveReadyFile(const std::string& path) {
  if (std::remove(path.c_str()) != 0 && errno != ENOENT) {
    return absl::UnavailableError(absl::StrCat(
        "--ready_file \"", path, "\": cannot remove: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace sotto::service_kit
