cmake_minimum_required(VERSION 3.25)
# Turns a text file into a C++ raw string literal, for #include as an
# expression: `constexpr std::string_view page =
# #include "runtime/status_page_html.inc"
# ;`. The source stays an ordinary file (editable, diffable, checkable by
# tools that know its language) and the binary needs no file at run time.
#
# Run as: cmake -DINPUT=<file> -DOUTPUT=<file> -P cmake/EmbedText.cmake
# (a build step: runtime/CMakeLists.txt re-runs it when INPUT changes).
# OUTPUT is rewritten only when its content changes, so nothing recompiles
# for an unchanged input.
set(delimiter "tickflow_embed")  # at most 16 characters (C++ [lex.string])
file(READ "${INPUT}" text)
string(FIND "${text}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains )${delimiter}\", which would end the raw string literal early")
endif()
set(content "// Generated from ${INPUT} by cmake/EmbedText.cmake: edit that file, not this one.\nR\"${delimiter}(${text})${delimiter}\"\n")
file(WRITE "${OUTPUT}.tmp" "${content}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
