cmake_minimum_required(VERSION 3.25)
# Fails if a folder includes a header from a folder that may not be below it,
# or if pipeline/ (computation only) includes an I/O library's header.
#
#   ringbuffers <- pipeline <- feeds ---------------------+
#                           <- sinks <- strategy <- bus --+-- config <- tuning <- runtime
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
set(allowed_bus "ringbuffers;pipeline;sinks;strategy;bus")
set(allowed_config "ringbuffers;pipeline;feeds;sinks;strategy;bus;config")
set(allowed_tuning "ringbuffers;pipeline;feeds;sinks;strategy;bus;config;tuning")
set(allowed_runtime "ringbuffers;pipeline;feeds;sinks;strategy;bus;config;tuning;runtime")
set(layers ringbuffers pipeline feeds sinks strategy bus config tuning runtime)

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

# The bus's libraries stay inside bus/: the rest of the tree sees its own
# types (bus/*.h), never libnats or FlatBuffers, so a single-host build's
# hot path cannot pick up either by accident.
foreach(layer IN LISTS layers)
  if(layer STREQUAL "bus")
    continue()
  endif()
  file(GLOB_RECURSE layer_sources "${ROOT}/${layer}/*.h" "${ROOT}/${layer}/*.cc")
  foreach(src IN LISTS layer_sources)
    file(STRINGS "${src}" bus_includes REGEX "^#include <(nats/|nats\\.h|flatbuffers/)")
    foreach(line IN LISTS bus_includes)
      string(APPEND violations "  ${src}: ${line} (only bus/ includes libnats and FlatBuffers)\n")
    endforeach()
  endforeach()
endforeach()

if(violations)
  message(FATAL_ERROR "layering violations:\n${violations}")
endif()
message(STATUS "layering: ok")
