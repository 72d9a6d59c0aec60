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

# The version of these headers (torch/version.h's TORCH_VERSION, e.g. "1.13.0"), for version_config.h:
# `cnnviz --version` names it without loading LibTorch.
find_file(CNNVIZ_TORCH_VERSION_H torch/version.h PATHS ${_torch_includes} NO_DEFAULT_PATH)
if(NOT CNNVIZ_TORCH_VERSION_H)
  message(FATAL_ERROR "cnnviz: no torch/version.h in LibTorch's include folders (${_torch_includes})")
endif()
file(STRINGS ${CNNVIZ_TORCH_VERSION_H} _torch_version_lines REGEX "^#define TORCH_VERSION_(MAJOR|MINOR|PATCH) ")
foreach(_part MAJOR MINOR PATCH)
  string(REGEX MATCH "TORCH_VERSION_${_part} ([0-9]+)" _match "${_torch_version_lines}")
  set(_torch_${_part} ${CMAKE_MATCH_1})
endforeach()
set(CNNVIZ_LIBTORCH_VERSION "${_torch_MAJOR}.${_torch_MINOR}.${_torch_PATCH}")
