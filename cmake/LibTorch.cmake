# Finds LibTorch (Debian's libtorch-dev 1.13, or any LibTorch >= 1.13, CPU or CUDA, e.g. the one inside
# a pip-installed PyTorch: -DCMAKE_PREFIX_PATH=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)'))
# and wraps it in an INTERFACE target `cnnviz_torch` whose headers are SYSTEM includes.
find_package(Torch REQUIRED)
if(Torch_VERSION AND Torch_VERSION VERSION_LESS 1.13)
  message(FATAL_ERROR "cnnviz needs LibTorch >= 1.13, found ${Torch_VERSION}")
endif()

add_library(cnnviz_torch INTERFACE)
target_link_libraries(cnnviz_torch INTERFACE ${TORCH_LIBRARIES})
get_target_property(_torch_includes torch INTERFACE_INCLUDE_DIRECTORIES)
if(_torch_includes)
  target_include_directories(cnnviz_torch SYSTEM INTERFACE ${_torch_includes})
endif()
# TORCH_CXX_FLAGS carries the C++ ABI switch (-D_GLIBCXX_USE_CXX11_ABI=...); it must match everything we link.
separate_arguments(_torch_cxx_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
target_compile_options(cnnviz_torch INTERFACE ${_torch_cxx_flags})
# Whether this LibTorch has its CUDA part (TorchConfig.cmake fills TORCH_CUDA_LIBRARIES only then):
# version.cc reports it (cnnviz --version, --device cuda's message).
set(CNNVIZ_LIBTORCH_CUDA 0)
if(TORCH_CUDA_LIBRARIES)
  set(CNNVIZ_LIBTORCH_CUDA 1)
  target_compile_definitions(cnnviz_torch INTERFACE CNNVIZ_TORCH_CUDA=1)
  message(STATUS "cnnviz: LibTorch with CUDA")
endif()

# The version of these headers (TORCH_VERSION_MAJOR/MINOR/PATCH: torch/headeronly/version.h from
# LibTorch 2.9 on, torch/version.h before), for version_config.h: `cnnviz --version` names it without
# loading LibTorch.
find_file(CNNVIZ_TORCH_HEADERONLY_VERSION_H torch/headeronly/version.h PATHS ${_torch_includes} NO_DEFAULT_PATH)
find_file(CNNVIZ_TORCH_VERSION_H torch/version.h PATHS ${_torch_includes} NO_DEFAULT_PATH)
set(_torch_version_lines "")
foreach(_header ${CNNVIZ_TORCH_HEADERONLY_VERSION_H} ${CNNVIZ_TORCH_VERSION_H})
  if(EXISTS ${_header})
    file(STRINGS ${_header} _lines REGEX "^#define TORCH_VERSION_(MAJOR|MINOR|PATCH) ")
    list(APPEND _torch_version_lines ${_lines})
  endif()
endforeach()
set(CNNVIZ_LIBTORCH_VERSION "")
if(_torch_version_lines MATCHES "TORCH_VERSION_MAJOR ([0-9]+)")
  set(_torch_major ${CMAKE_MATCH_1})
  string(REGEX MATCH "TORCH_VERSION_MINOR ([0-9]+)" _m "${_torch_version_lines}")
  set(_torch_minor ${CMAKE_MATCH_1})
  string(REGEX MATCH "TORCH_VERSION_PATCH ([0-9]+)" _m "${_torch_version_lines}")
  set(_torch_patch ${CMAKE_MATCH_1})
  set(CNNVIZ_LIBTORCH_VERSION "${_torch_major}.${_torch_minor}.${_torch_patch}")
endif()
if(NOT CNNVIZ_LIBTORCH_VERSION MATCHES "^[0-9]+\\.[0-9]+\\.[0-9]+$")
  message(FATAL_ERROR "cnnviz: no TORCH_VERSION_MAJOR/MINOR/PATCH in LibTorch's version headers (${_torch_includes})")
endif()
