#!/usr/bin/env bash
# scripts/setup.sh: install tickflow's build and test dependencies on Debian 12.
#
# Idempotent: it asks dpkg which packages are already present and runs
# apt-get only for the missing ones, so a warm machine pays ~100 ms.
# Every dependency of the project is named here and nowhere else; later
# features add their packages to PACKAGES below.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  clang clang-format libclang-rt-14-dev   # libFuzzer + sanitizer runtimes (only "recommended" by clang)
  # libraries
  libboost-dev libboost-system-dev         # lockfree, asio, beast are header-only in 1.74
  libsimdjson-dev                          # 3.0.1
  libcurl4-openssl-dev libssl-dev zlib1g-dev
  libspdlog-dev libfmt-dev
  libbenchmark-dev libgtest-dev libgmock-dev
  libtomlplusplus-dev libcli11-dev libhiredis-dev
  libnats-dev flatbuffers-compiler libflatbuffers-dev   # bus/ (issue 19): NATS JetStream client, FlatBuffers wire format
  # test servers, started by the integration tests on loopback ports
  influxdb redis-server nats-server
  python3-flatbuffers                      # tests decode bus messages from Python with the stock module
  # operations (issue 18): Prometheus rules are unit-tested with promtool and a
  # real prometheus scrapes a running pipeline; headless Chromium renders the
  # status page; lintian checks the .deb (dpkg-dev: dpkg-shlibdeps for CPack)
  prometheus chromium lintian dpkg-dev
  # profiling
  valgrind
  # tests: independent reference figures for captures (tests/tools/*.py, stdlib only)
  python3
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

if [[ $EUID -ne 0 ]]; then
  echo "setup: missing packages: ${missing[*]}" >&2
  echo "setup: run as root (or: sudo $0)" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The Debian packages start these daemons on install; tests run their own
# instances on free ports, so the system-wide ones are not needed.
for svc in influxdb redis-server prometheus nats-server; do
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
done
echo "setup: done"
