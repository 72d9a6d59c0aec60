#include "torch_part.h"

#include <dlfcn.h>
#include <unistd.h>

#include <fmt/core.h>

#include <climits>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <vector>

#include "cnnviz/error.h"

#if CNNVIZ_LAZY_TORCH
// Defined by the generated stubs (cmake/TorchPartStubs.cmake).
extern "C" {
extern void* cnnviz_torch_part_table[];
extern const char* const cnnviz_torch_part_names[];
extern const std::size_t cnnviz_torch_part_count;
}
#endif

namespace cnnviz::cli {
namespace {

std::mutex& load_mutex() {
  static std::mutex m;
  return m;
}
bool loaded = !CNNVIZ_LAZY_TORCH;
std::vector<std::function<void()>>& hooks() {
  static std::vector<std::function<void()>> v;
  return v;
}

std::string executable_dir() {
  char path[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return "";
  const std::string exe(path, static_cast<std::size_t>(n));
  return exe.substr(0, exe.rfind('/'));
}

}  // namespace

std::vector<std::string> torch_part_candidates() {
  const std::string dir = executable_dir();
  if (dir.empty()) return {};
  return {dir + "/" CNNVIZ_TORCH_PART_NAME, dir + "/" CNNVIZ_TORCH_PART_INSTALL_DIR "/" CNNVIZ_TORCH_PART_NAME};
}

void load_torch_part() {
  std::vector<std::function<void()>> run;
  {
    std::lock_guard<std::mutex> lock(load_mutex());
    if (loaded) return;
#if CNNVIZ_LAZY_TORCH
    const std::vector<std::string> candidates = torch_part_candidates();
    std::string path;
    for (const std::string& candidate : candidates) {
      if (access(candidate.c_str(), F_OK) == 0) {
        path = candidate;
        break;
      }
    }
    if (path.empty()) {
      throw Error(ErrorKind::kInternal, "cnnviz's LibTorch part (" CNNVIZ_TORCH_PART_NAME ") is not beside the binary nor in " +
                                            (candidates.empty() ? std::string("its library folder") : candidates.back()) +
                                            "; reinstall cnnviz, or run the cnnviz of a complete build folder");
    }
    // Global: operator libraries loaded later (torchvision's) bind to this LibTorch.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      throw Error(ErrorKind::kInternal, "cannot load cnnviz's LibTorch part '" + path + "': " + (why ? why : "unknown reason") +
                                            "; install the LibTorch it was built with (Debian: the libtorch package), or reinstall cnnviz");
    }
    for (std::size_t i = 0; i < cnnviz_torch_part_count; ++i) {
      void* function = dlsym(handle, cnnviz_torch_part_names[i]);
      if (function == nullptr) {
        throw Error(ErrorKind::kInternal, "cnnviz's LibTorch part '" + path + "' has no function " + cnnviz_torch_part_names[i] +
                                              ": it is from another build; reinstall cnnviz");
      }
      cnnviz_torch_part_table[i] = function;
    }
#endif
    loaded = true;
    run.swap(hooks());
  }
  for (auto& hook : run) hook();
}

bool torch_part_loaded() {
  std::lock_guard<std::mutex> lock(load_mutex());
  return loaded;
}

void when_torch_part_loaded(std::function<void()> hook) {
  {
    std::lock_guard<std::mutex> lock(load_mutex());
    if (!loaded) {
      hooks().push_back(std::move(hook));
      return;
    }
  }
  hook();
}

}  // namespace cnnviz::cli

#if CNNVIZ_LAZY_TORCH
// Called by the stubs' common thunk on a function's first call, with the function's arguments saved:
// loads the part (filling the table) or ends the process with the error, as main() would.
extern "C" void cnnviz_torch_part_resolve() noexcept {
  try {
    cnnviz::cli::load_torch_part();
  } catch (const cnnviz::Error& e) {
    fmt::print(stderr, "cnnviz: error: {}\n", e.what());
    std::fflush(stderr);
    std::_Exit(cnnviz::exit_code(e.kind()));
  } catch (const std::exception& e) {
    fmt::print(stderr, "cnnviz: internal error: {}; please report it with the command line\n", cnnviz::one_line(e.what()));
    std::fflush(stderr);
    std::_Exit(cnnviz::exit_code(cnnviz::ErrorKind::kInternal));
  }
}

// The stubs' common thunk (x86-64 System V): %r11 holds the function's index. It saves the argument
// registers (and %rax, the vector-register count of variadic calls), loads the part, restores them and
// jumps to the real function, so the call proceeds as if made directly.
asm(R"(
  .pushsection .text
  .globl cnnviz_torch_part_resolve_and_jump
  .hidden cnnviz_torch_part_resolve_and_jump
  .type cnnviz_torch_part_resolve_and_jump, @function
cnnviz_torch_part_resolve_and_jump:
  pushq %rbp
  movq %rsp, %rbp
  pushq %rdi
  pushq %rsi
  pushq %rdx
  pushq %rcx
  pushq %r8
  pushq %r9
  pushq %rax
  pushq %r11
  subq $128, %rsp
  movdqu %xmm0, 0(%rsp)
  movdqu %xmm1, 16(%rsp)
  movdqu %xmm2, 32(%rsp)
  movdqu %xmm3, 48(%rsp)
  movdqu %xmm4, 64(%rsp)
  movdqu %xmm5, 80(%rsp)
  movdqu %xmm6, 96(%rsp)
  movdqu %xmm7, 112(%rsp)
  call cnnviz_torch_part_resolve@PLT
  movdqu 0(%rsp), %xmm0
  movdqu 16(%rsp), %xmm1
  movdqu 32(%rsp), %xmm2
  movdqu 48(%rsp), %xmm3
  movdqu 64(%rsp), %xmm4
  movdqu 80(%rsp), %xmm5
  movdqu 96(%rsp), %xmm6
  movdqu 112(%rsp), %xmm7
  addq $128, %rsp
  popq %r11
  popq %rax
  popq %r9
  popq %r8
  popq %rcx
  popq %rdx
  popq %rsi
  popq %rdi
  popq %rbp
  leaq cnnviz_torch_part_table(%rip), %r10
  jmpq *(%r10,%r11,8)
  .size cnnviz_torch_part_resolve_and_jump, .-cnnviz_torch_part_resolve_and_jump
  .popsection
)");
#endif
