#include "cnnviz/error.h"

#include <fmt/core.h>

namespace cnnviz {

std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          out += fmt::format("\\x{:02x}", byte);
        } else {
          out += c;
        }
    }
  }
  return out;
}

int exit_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInternal: return 1;
    case ErrorKind::kUsage: return 2;
    case ErrorKind::kInput: return 3;
    case ErrorKind::kModel: return 4;
    case ErrorKind::kData: return 5;
    case ErrorKind::kExecution: return 6;
    case ErrorKind::kResource: return 7;
    case ErrorKind::kDevice: return 8;
    case ErrorKind::kOutput: return 9;
    case ErrorKind::kCheck: return 10;
    case ErrorKind::kPartial: return 11;
  }
  return 1;
}

Error::Error(ErrorKind kind, const std::string& message) : std::runtime_error(one_line(message)), kind_(kind) {}

Error Error::file_not_found(const std::string& path) {
  return Error(ErrorKind::kInput, "'" + path + "': no such file; check the path");
}

Error Error::is_directory(const std::string& path) {
  return Error(ErrorKind::kInput, "'" + path + "' is a directory, not a file; give the path of a .pt file");
}

Error Error::unreadable(const std::string& path, const std::string& reason) {
  return Error(ErrorKind::kInput, "'" + path + "' cannot be read: " + reason);
}

Error Error::not_torchscript(const std::string& path, const std::string& detail) {
  return Error(ErrorKind::kModel,
               "'" + path + "' is not a TorchScript model (" + detail +
                   "); export one with torch.jit.script(model).save(path) or torch.jit.trace(model, x).save(path)");
}

Error Error::usage(const std::string& message) { return Error(ErrorKind::kUsage, message); }

}  // namespace cnnviz
