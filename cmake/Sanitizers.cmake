# Sanitizer and libFuzzer instrumentation of cnnviz's own targets (docs/development.md: "Sanitizers
# and fuzzing"). LibTorch and the system libraries (libpng, libjpeg, fmt, ...) stay uninstrumented.
#
#   CNNVIZ_SANITIZE  -fsanitize= list, e.g. "address,undefined"; empty (the default) = none
#   CNNVIZ_FUZZ      build the libFuzzer targets in tests/fuzz/ (clang only); the library's units
#                    (cnnviz_plain, cnnviz_torch_units) then also get coverage instrumentation
#                    (-fsanitize=fuzzer-no-link)
#
# The `asan` preset in CMakePresets.json turns both on.

set(CNNVIZ_SANITIZE "" CACHE STRING "Sanitizers for cnnviz's own targets, as for -fsanitize= (e.g. address,undefined)")
option(CNNVIZ_FUZZ "Build the libFuzzer targets in tests/fuzz (needs clang)" OFF)

if(CNNVIZ_FUZZ AND NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "CNNVIZ_FUZZ needs clang (libFuzzer), not ${CMAKE_CXX_COMPILER_ID}: "
                      "use the asan preset (cmake --preset asan) or -DCMAKE_CXX_COMPILER=clang++-14")
endif()

set(_cnnviz_sanitize_compile "")
set(_cnnviz_sanitize_link "")
if(CNNVIZ_SANITIZE)
  # Stop at the first UBSan report (as ASan does) so a test or fuzz run fails instead of printing on.
  set(_cnnviz_sanitize_compile -fsanitize=${CNNVIZ_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  set(_cnnviz_sanitize_link -fsanitize=${CNNVIZ_SANITIZE} -fno-sanitize-recover=undefined)
  message(STATUS "cnnviz: sanitizers ${CNNVIZ_SANITIZE}")
endif()

# Instruments one of our targets. A static library passes its link flags on to what links it (an
# ASan-instrumented object needs the ASan runtime in the final link); executables take them directly.
function(cnnviz_instrument target)
  get_target_property(_type ${target} TYPE)
  set(_compile ${_cnnviz_sanitize_compile})
  set(_link ${_cnnviz_sanitize_link})
  if(CNNVIZ_FUZZ AND target MATCHES "^cnnviz_(core|torch_units|plain)$")
    list(APPEND _compile -fsanitize=fuzzer-no-link)
    list(APPEND _link -fsanitize=fuzzer-no-link)
  endif()
  if(_compile)
    target_compile_options(${target} PRIVATE ${_compile})
  endif()
  if(_link)
    if(_type STREQUAL "STATIC_LIBRARY")
      target_link_options(${target} INTERFACE ${_link})
    else()
      target_link_options(${target} PRIVATE ${_link})
    endif()
  endif()
endfunction()
