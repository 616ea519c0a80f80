#!/usr/bin/env bash
# scripts/format.sh: clang-format every C++ file git tracks (and new ones it
# does not ignore) with the repository's .clang-format.
#
#   scripts/format.sh           rewrite the files in place
#   scripts/format.sh --check   change nothing; list every file that differs
#                               and exit 1 (CI runs this)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v clang-format >/dev/null || { echo "format.sh: clang-format is not installed (scripts/setup.sh)" >&2; exit 2; }
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.h' '*.cc' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
if [ "${1:-}" = "--check" ]; then
  # One clang-format per 40 files, two at a time; every violation is
  # reported as "FILE:LINE:COL: error: code should be clang-formatted".
  mapfile -t bad < <(printf '%s\0' "${files[@]}" |
    xargs -0 -n 40 -P 2 clang-format --dry-run -Werror 2>&1 |
    sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' | sort -u)
  if [ ${#bad[@]} -gt 0 ]; then
    echo "format.sh: ${#bad[@]} file(s) differ from clang-format ($(clang-format --version | head -1)):" >&2
    printf '  %s\n' "${bad[@]}" >&2
    echo "run scripts/format.sh to fix them" >&2
    exit 1
  fi
  echo "format.sh: ${#files[@]} files formatted as .clang-format says"
else
  clang-format -i "${files[@]}"
fi
