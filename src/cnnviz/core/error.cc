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

const std::vector<ErrorKindInfo>& error_kinds() {
  static const std::vector<ErrorKindInfo> kinds = {
      {ErrorKind::kInternal, 1, "internal error"},
      {ErrorKind::kUsage, 2, "usage"},
      {ErrorKind::kInput, 3, "unreadable input"},
      {ErrorKind::kModel, 4, "not a loadable model"},
      {ErrorKind::kData, 5, "inputs do not fit the model"},
      {ErrorKind::kExecution, 6, "forward failed"},
      {ErrorKind::kResource, 7, "memory guard"},
      {ErrorKind::kDevice, 8, "device unavailable"},
      {ErrorKind::kOutput, 9, "output not written"},
      {ErrorKind::kCheck, 10, "check failed"},
      {ErrorKind::kPartial, 11, "some batch items failed"},
  };
  return kinds;
}

int exit_code(ErrorKind kind) {
  for (const ErrorKindInfo& info : error_kinds()) {
    if (info.kind == kind) return info.exit_code;
  }
  return 1;
}

std::string exit_code_summary() {
  std::string text = "Exit codes: 0 ok";
  for (const ErrorKindInfo& info : error_kinds()) text += fmt::format(", {} {}", info.exit_code, info.summary);
  return text + ".";
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
