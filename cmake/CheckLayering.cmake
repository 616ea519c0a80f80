cmake_minimum_required(VERSION 3.25)
# Fails if a folder includes a header from a folder that may not be below it:
#   ringbuffers <- pipeline <- feeds, strategy <- runtime
#   ringbuffers <- pipeline <- strategy <- tuning <- runtime
# Run as: cmake -DROOT=<source dir> -P cmake/CheckLayering.cmake
set(allowed_ringbuffers "ringbuffers")
set(allowed_pipeline "ringbuffers;pipeline")
set(allowed_feeds "ringbuffers;pipeline;feeds")
set(allowed_strategy "ringbuffers;pipeline;strategy")
set(allowed_tuning "ringbuffers;pipeline;strategy;tuning")
set(allowed_runtime "ringbuffers;pipeline;feeds;strategy;tuning;runtime")
set(layers ringbuffers pipeline feeds strategy tuning runtime)

set(violations "")
foreach(layer IN LISTS layers)
  file(GLOB_RECURSE sources "${ROOT}/${layer}/*.h" "${ROOT}/${layer}/*.cc")
  foreach(src IN LISTS sources)
    file(STRINGS "${src}" includes REGEX "^#include \"[a-z_]+/")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^#include \"([a-z_]+)/.*" "\\1" target "${line}")
      if(target IN_LIST layers AND NOT target IN_LIST allowed_${layer})
        string(APPEND violations "  ${src}: ${line} (${layer} may not depend on ${target})\n")
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations)
  message(FATAL_ERROR "layering violations:\n${violations}")
endif()
message(STATUS "layering: ok")
