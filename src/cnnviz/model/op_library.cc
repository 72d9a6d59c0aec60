#include "cnnviz/op_library.h"

#include <dlfcn.h>
#include <glob.h>
#include <link.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>

#include "cnnviz/error.h"
#include "cnnviz/input_file.h"

namespace cnnviz {

namespace {

std::mutex& library_mutex() {
  static std::mutex m;
  return m;
}

std::vector<std::string>& library_list() {
  static std::vector<std::string> list;
  return list;
}

}  // namespace

void load_operator_library(const std::string& path) {
  {
    // Refuses a missing file, a directory, a FIFO, ... with the messages every input gets.
    InputFile file(path, "an operator library (--load-library)");
  }
  std::lock_guard<std::mutex> lock(library_mutex());
  auto& list = library_list();
  if (std::find(list.begin(), list.end(), path) != list.end()) return;
  dlerror();
  // RTLD_GLOBAL: the operators register themselves with LibTorch's dispatcher from static initialisers;
  // the handle is kept for the life of the process (their registrations point into the library).
  if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
    const char* why = dlerror();
    throw Error(ErrorKind::kInput, "--load-library '" + path + "' could not be loaded: " +
                                       std::string(why ? why : "unknown reason") +
                                       "; give a shared library built for LibTorch " + libtorch_soname());
  }
  list.push_back(path);
}

const std::vector<std::string>& loaded_operator_libraries() { return library_list(); }

std::string libtorch_soname() {
  std::string found;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        const std::string name = info->dlpi_name ? info->dlpi_name : "";
        const auto slash = name.rfind('/');
        const std::string base = name.substr(slash == std::string::npos ? 0 : slash + 1);
        if (base.rfind("libtorch_cpu.so", 0) == 0) {
          *static_cast<std::string*>(data) = base;
          return 1;
        }
        return 0;
      },
      &found);
  // The loader names the file by its soname ("libtorch_cpu.so.1.13"); pip's builds have no version suffix.
  return found;
}

bool library_depends_on(const std::string& file, const std::string& soname) {
  if (soname.empty()) return false;
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  // The dynamic string table holds the DT_NEEDED names, NUL-terminated: look for "\0<soname>\0".
  const std::string needle = std::string(1, '\0') + soname + std::string(1, '\0');
  std::string window;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    window.append(buf, static_cast<std::size_t>(in.gcount()));
    if (window.find(needle) != std::string::npos) return true;
    if (window.size() > needle.size()) window.erase(0, window.size() - needle.size());
  }
  return false;
}

std::string find_torchvision_library() {
  const std::string soname = libtorch_soname();
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("CNNVIZ_TORCHVISION_LIBRARY")) {
    // Set: the only candidate (empty or a missing file: none, which the tests use).
    return library_depends_on(env, soname) ? env : "";
  }
  for (const char* pattern : {"/usr/lib/python3/dist-packages/torchvision/_C*.so",
                              "/usr/local/lib/python3*/dist-packages/torchvision/_C*.so",
                              "/usr/lib/python3*/site-packages/torchvision/_C*.so"}) {
    glob_t g{};
    if (glob(pattern, 0, nullptr, &g) == 0) {
      for (std::size_t i = 0; i < g.gl_pathc; ++i) candidates.emplace_back(g.gl_pathv[i]);
    }
    globfree(&g);
  }
  for (const auto& c : candidates) {
    if (library_depends_on(c, soname)) return c;
  }
  return "";
}

std::string unknown_operator(const std::string& torch_message) {
  static const std::string marker = "Unknown builtin op: ";
  const auto at = torch_message.find(marker);
  if (at == std::string::npos) return "";
  const auto begin = at + marker.size();
  auto end = begin;
  while (end < torch_message.size() &&
         (std::isalnum(static_cast<unsigned char>(torch_message[end])) || torch_message[end] == '_' ||
          torch_message[end] == ':' || torch_message[end] == '.')) {
    ++end;
  }
  std::string op = torch_message.substr(begin, end - begin);
  while (!op.empty() && op.back() == '.') op.pop_back();
  return op.find("::") == std::string::npos ? "" : op;
}

}  // namespace cnnviz
