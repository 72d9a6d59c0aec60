# Sourced by scripts/sanitize and scripts/fuzz: the asan preset's build folder, the packages it needs,
# and the sanitizer run-time options. Every option here reaches child processes too (the tests run the
# built cnnviz binary), because they are exported. The suppression files list only reports whose stack
# lies inside LibTorch and the libraries it brings (uninstrumented, built with GCC); each line says why.
# shellcheck shell=bash

CNNVIZ_ASAN_DIR=build-asan  # the asan preset's binaryDir

# clang 14 and its sanitizer/libFuzzer run-times, on top of what scripts/setup installs.
cnnviz_need_clang() {
  local missing=()
  command -v clang++-14 >/dev/null || missing+=(clang-14)
  compgen -G '/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a' >/dev/null ||
    missing+=(libclang-rt-14-dev)
  ((${#missing[@]})) || return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "cnnviz: missing Debian packages; run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "cnnviz: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -qq "${missing[@]}" >/dev/null
}

# Configures (once) and builds the asan preset; extra arguments are build targets.
cnnviz_build_asan() {
  cnnviz_need_clang
  if [[ ! -f $CNNVIZ_ASAN_DIR/build.ninja ]]; then
    cmake --preset asan >/dev/null
  fi
  local targets=()
  for t in "$@"; do targets+=(--target "$t"); done
  nice -n "${CNNVIZ_NICE:-0}" cmake --build "$CNNVIZ_ASAN_DIR" -j "${CNNVIZ_JOBS:-$(nproc)}" "${targets[@]}"
}

cnnviz_sanitizer_env() {
  local root
  root=$(pwd)
  # ASan: stop at the first report with a stack trace; also catch use-after-return and bad
  # initialisation order in our code.
  export ASAN_OPTIONS="abort_on_error=1:halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:symbolize=1${CNNVIZ_EXTRA_ASAN_OPTIONS:+:$CNNVIZ_EXTRA_ASAN_OPTIONS}"
  export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:suppressions=$root/tests/ubsan.supp:print_suppressions=0"
}
