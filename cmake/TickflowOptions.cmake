# Build options shared by every target: target CPU, warnings, sanitizers, ccache.
# The presets in CMakePresets.json set these; a plain `cmake -B build` gets
# sane defaults (Release for x86-64-v3, no sanitizers).

set(TICKFLOW_ARCH "x86-64-v3" CACHE STRING
    "Value for -march: x86-64-v3 (AVX2/BMI2, default), x86-64 (portable) or native")
set(TICKFLOW_SANITIZE "" CACHE STRING
    "Sanitizers to build with: '' | 'address,undefined' | 'thread'")
option(TICKFLOW_WERROR "Treat warnings as errors (CI sets this)" OFF)
option(TICKFLOW_BUILD_TESTS "Build the GoogleTest suites" ON)
option(TICKFLOW_BUILD_BENCH "Build the Google Benchmark binary" ON)
option(TICKFLOW_FUZZ "Build the libFuzzer targets (clang only; the fuzz preset)" OFF)

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

# ccache makes rebuilds cheap, but nothing may depend on it being installed or warm.
find_program(TICKFLOW_CCACHE ccache)
if(TICKFLOW_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${TICKFLOW_CCACHE}")
endif()

# Applied to every tickflow target through this interface library, so that
# third-party headers are not compiled with our -Werror.
add_library(tickflow_build_flags INTERFACE)
target_compile_options(tickflow_build_flags INTERFACE -Wall -Wextra -Wpedantic)
if(TICKFLOW_WERROR)
  target_compile_options(tickflow_build_flags INTERFACE -Werror)
endif()
# GCC 12 reports -Wrestrict on libstdc++'s own memcpy inside
# `"literal" + std::string&&` and std::string::insert at -O2/-O3 (GCC bugs
# 105329, 105651: sizes near 2^63 that no run can reach). It fired in six of
# our files, all plain string building; the warning is kept for other
# compilers.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(tickflow_build_flags INTERFACE -Wno-restrict)
endif()

if(TICKFLOW_ARCH)
  add_compile_options(-march=${TICKFLOW_ARCH})
  # x86-64-v3 leaves out PCLMULQDQ, which simdjson's haswell kernels need:
  # without -mpclmul its header compiles On-Demand for the scalar "fallback"
  # implementation (3-4x slower). Every AVX2 CPU has PCLMULQDQ.
  if(TICKFLOW_ARCH STREQUAL "x86-64-v3")
    add_compile_options(-mpclmul)
  endif()
endif()

if(TICKFLOW_SANITIZE)
  add_compile_options(-fsanitize=${TICKFLOW_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${TICKFLOW_SANITIZE})
  if(TICKFLOW_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
endif()

# Translation units that instantiate Boost.Beast/Asio (the websocket client,
# the HTTP endpoint, the tests' local servers) compile 2-6x slower with UBSan
# on top of ASan (a minute becomes up to five on this machine), and the
# undefined-behaviour checks there would mostly instrument Boost. They keep
# ASan (memory errors still abort) and drop UBSan: the CI's time goes to our
# own code instead.
function(tickflow_beast_sources)
  if(TICKFLOW_SANITIZE MATCHES "undefined")
    set_source_files_properties(${ARGN} DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
      PROPERTIES COMPILE_OPTIONS "-fno-sanitize=undefined")
  endif()
endfunction()

# Root of the source tree is the include root: `#include "ringbuffers/spsc_ring.h"`
# names the folder, so a reader sees where each piece of the data flow lives.
set(TICKFLOW_INCLUDE_ROOT "${PROJECT_SOURCE_DIR}")
