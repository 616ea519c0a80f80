#!/usr/bin/env bash
# scripts/package.sh: build the Debian package of tickflow and check it with lintian.
#
#   scripts/package.sh [--build-dir DIR]     (default: build/release)
#
# Installs what is missing (scripts/setup.sh), configures and builds the
# release preset's `tickflow` (ccache as ever), runs CPack
# (cmake/packaging.cmake) into DIR/package/, prints the .deb's path on stdout
# and runs lintian on it. Exit status non-zero if a step fails or lintian
# reports an error. Installs nothing on this host: `dpkg -i` is the operator's
# step (README.md "Installing on a trading host").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

build=build/release
while (($#)); do
  case $1 in
    --build-dir)
      build=${2:?--build-dir needs a directory}
      shift 2
      ;;
    -h | --help)
      sed -n '2,11s/^# \{0,1\}//p' "$0"
      exit 0
      ;;
    *)
      echo "package.sh: unknown argument '$1' (see --help)" >&2
      exit 2
      ;;
  esac
done

"$root/scripts/setup.sh" >&2
cmake --preset release -B "$build" --log-level=WARNING -DTICKFLOW_WERROR="${TICKFLOW_WERROR:-OFF}" >&2
cmake --build "$build" --target tickflow -j2 >&2

out="$build/package"
rm -rf "$out"
mkdir -p "$out"
cpack --config "$build/CPackConfig.cmake" -B "$out" >&2
deb=$(ls "$out"/tickflow_*_amd64.deb)
rm -rf "$out/_CPack_Packages"  # the staging tree: the .deb has it all
echo "$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")"

# Errors fail the script (lintian's exit status); warnings are printed. The
# one expected warning, initial-upload-closes-no-bugs, is about uploads to the
# Debian archive (an ITP bug to close), which this package never has.
lintian "$deb" >&2
