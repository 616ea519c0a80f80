cmake_minimum_required(VERSION 3.25)
# Fails if a folder includes a header from a folder that may not be below it,
# or if pipeline/ (computation only) includes an I/O library's header.
#
#   ringbuffers <- pipeline <- feeds ---------------------+
#                           <- sinks <- strategy ---------+-- config <- tuning <- runtime
#
#   (A <- B: B may include A's headers and link A, never the reverse; a
#   folder reaches everything to its left along the arrows.)
#
# Run as: cmake -DROOT=<source dir> -P cmake/CheckLayering.cmake
set(allowed_ringbuffers "ringbuffers")
set(allowed_pipeline "ringbuffers;pipeline")
set(allowed_feeds "ringbuffers;pipeline;feeds")
set(allowed_sinks "ringbuffers;pipeline;sinks")
set(allowed_strategy "ringbuffers;pipeline;sinks;strategy")
set(allowed_config "ringbuffers;pipeline;feeds;sinks;strategy;config")
set(allowed_tuning "ringbuffers;pipeline;feeds;sinks;strategy;config;tuning")
set(allowed_runtime "ringbuffers;pipeline;feeds;sinks;strategy;config;tuning;runtime")
set(layers ringbuffers pipeline feeds sinks strategy config tuning runtime)

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

# The layer feeds and strategy stand on does no I/O of its own: libcurl,
# zlib and hiredis belong to sinks/ (feeds/ links its own for the websocket
# client, the capture reader and the REST backfill).
file(GLOB_RECURSE pipeline_sources "${ROOT}/pipeline/*.h" "${ROOT}/pipeline/*.cc")
foreach(src IN LISTS pipeline_sources)
  file(STRINGS "${src}" io_includes REGEX "^#include <(curl/|zlib\\.h|hiredis/)")
  foreach(line IN LISTS io_includes)
    string(APPEND violations "  ${src}: ${line} (pipeline/ is computation only: I/O lives in sinks/)\n")
  endforeach()
endforeach()

if(violations)
  message(FATAL_ERROR "layering violations:\n${violations}")
endif()
message(STATUS "layering: ok")
