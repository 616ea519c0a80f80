#!/usr/bin/env bash
# scripts/tsan.sh: the lock-free code and its tests (functional, 50M-item
# stress, parking) under ThreadSanitizer. Asio, Beast and libcurl stay out of
# this preset: they are not TSan-clean under GCC 12.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh"
cmake --preset tsan --log-level=WARNING -DTICKFLOW_WERROR="${TICKFLOW_WERROR:-OFF}"
cmake --build --preset tsan -j2
# halt_on_error: the first race fails the run, with its report.
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" ctest --preset tsan
