#!/usr/bin/env bash
# tests/cli/package_test.sh BUILD_DIR SOURCE_DIR
# The Debian package (cmake/packaging.cmake), built by cpack from the already
# built tree into a temporary folder, checked without touching this host's
# /usr or /etc: its control fields (Depends computed by dpkg-shlibdeps), its
# files at their exact paths and nothing else, lintian (no error, no warning
# but the expected one), then the extracted binary (--help, tuning check with
# the extracted profile, a replay giving the bundled captures' exact bars),
# and the maintainer scripts run under a temporary root with every command
# that changes the system stubbed: the user, the state directory, the config
# from the laptop profile, an edited config surviving an upgrade, purge.
set -u
build=$1
src=$2
failures=0
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t0=$SECONDS

# ---- build ------------------------------------------------------------------------
version=$("$build/runtime/tickflow" --version | awk '{print $2}')
cpack --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1
check "cpack exits 0" test $? -eq 0
deb="$tmp/out/tickflow_${version}-1_amd64.deb"
if [[ ! -f "$deb" ]]; then
  echo "FAIL no $deb; cpack said:"
  cat "$tmp/cpack.log"
  ls -l "$tmp/out"
  exit 1
fi
echo "     built $(basename "$deb") in $((SECONDS - t0)) s"

# ---- dpkg-deb --info -----------------------------------------------------------
field() { dpkg-deb --field "$deb" "$1"; }
check "Package: tickflow" test "$(field Package)" = tickflow
check "Version: $version-1 (the project's)" test "$(field Version)" = "$version-1"
check "Architecture: amd64" test "$(field Architecture)" = amd64
check "Section: net" test "$(field Section)" = net
check "Maintainer set" grep -q "<maintainers@" <<<"$(field Maintainer)"
depends=$(field Depends)
echo "     Depends: $depends"
# adduser is postinst's; the rest come from dpkg-shlibdeps reading the binary.
for dep in adduser 'libc6 (>= ' 'libcurl4 (>= ' 'libssl3 (>= ' 'libsimdjson14 (>= ' 'libstdc++6 (>= ' \
  'libtomlplusplus3 (>= ' 'libhiredis0.14 (>= ' 'zlib1g (>= ' libspdlog1.10; do
  check "Depends: $dep" grep -qF "$dep" <<<"$depends"
done
dpkg-deb --info "$deb" >"$tmp/info"
for script in postinst prerm postrm; do
  check "control: $script" grep -q "^ .* $script  *#!/bin/sh$" "$tmp/info"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -tvf - >"$tmp/ctrl"
check "maintainer scripts are 0755 root" test "$(grep -cE '^-rwxr-xr-x root/root .* \./(postinst|prerm|postrm)$' "$tmp/ctrl")" -eq 3
check "no conffiles (the config is postinst's, not dpkg's)" sh -c "! grep -q conffiles '$tmp/ctrl'"

# ---- dpkg-deb --contents: these files, nothing else ------------------------------
dpkg-deb --contents "$deb" >"$tmp/contents"
awk '$1 !~ /^d/ {print $1, $2, $6}' "$tmp/contents" | sort >"$tmp/files"
{
  echo "-rwxr-xr-x root/root ./usr/bin/tickflow"
  echo "-rw-r--r-- root/root ./usr/lib/systemd/system/tickflow.service"
  for doc in README.md changelog.Debian.gz copyright feeds/README.md pipeline/README.md \
    strategy/README.md tuning/README.md; do
    echo "-rw-r--r-- root/root ./usr/share/doc/tickflow/$doc"
  done
  echo "-rw-r--r-- root/root ./usr/share/man/man1/tickflow.1.gz"
  for profile in "$src"/tuning/*.toml; do
    echo "-rw-r--r-- root/root ./usr/share/tickflow/profiles/$(basename "$profile")"
  done
} | sort >"$tmp/expected"
check "exactly the binary, unit, docs, man page and every profile" cmp -s "$tmp/files" "$tmp/expected"
diff "$tmp/expected" "$tmp/files" | grep '^[<>]' | sed 's/^</     missing:/; s/^>/     unexpected:/'
check "directories 0755 root" sh -c "! awk '\$1 ~ /^d/ && (\$1 != \"drwxr-xr-x\" || \$2 != \"root/root\")' '$tmp/contents' | grep -q ."

# ---- lintian ------------------------------------------------------------------------
# No error; no warning but initial-upload-closes-no-bugs (a Debian archive
# upload's ITP bug, which this package has none of).
lintian "$deb" >"$tmp/lintian" 2>/dev/null
sed 's/^/     lintian: /' "$tmp/lintian"
check "lintian: no error" sh -c "! grep -q '^E:' '$tmp/lintian'"
check "lintian: no unexpected warning" sh -c "! grep '^W:' '$tmp/lintian' | grep -vq ' initial-upload-closes-no-bugs '"

# ---- the extracted package ------------------------------------------------------
root="$tmp/root"
dpkg-deb -x "$deb" "$root"
bin="$root/usr/bin/tickflow"
profiles="$root/usr/share/tickflow/profiles"
check "binary stripped (no .symtab)" sh -c "! readelf -S '$bin' | grep -q '\\.symtab'"
check "unit: ExecStart=/usr/bin/tickflow run --config /etc/tickflow/tickflow.toml" \
  grep -qx "ExecStart=/usr/bin/tickflow run --config /etc/tickflow/tickflow.toml" "$root/usr/lib/systemd/system/tickflow.service"
check "unit: nothing under /usr/local or /opt" sh -c "! grep -q '/usr/local\|/opt/' '$root/usr/lib/systemd/system/tickflow.service'"
check "unit: hardening kept" sh -c "grep -qx 'ProtectSystem=strict' '$root/usr/lib/systemd/system/tickflow.service' &&
  grep -qx 'NoNewPrivileges=yes' '$root/usr/lib/systemd/system/tickflow.service'"
# systemd's own parser: no unknown key, no bad value. ExecStart= points at
# the extracted binary (the real path does not exist here); the man: link is
# checked with man(1), which does not know the extracted page.
if command -v systemd-analyze >/dev/null; then
  sed "s|^ExecStart=/usr/bin/tickflow|ExecStart=$bin|" "$root/usr/lib/systemd/system/tickflow.service" >"$tmp/tickflow.service"
  systemd-analyze verify "$tmp/tickflow.service" 2>&1 | grep -v "Command 'man tickflow(1)' failed" >"$tmp/verify"
  check "unit: systemd-analyze verify has nothing to say" test ! -s "$tmp/verify"
  sed 's/^/     systemd-analyze: /' "$tmp/verify"
else
  echo "skip systemd-analyze verify (no systemd here)"
fi
check "man page: gzip, names the config" sh -c "gzip -dc '$root/usr/share/man/man1/tickflow.1.gz' | grep -q '/etc/tickflow/tickflow.toml'"

"$bin" --help >"$tmp/help" 2>&1
check "tickflow --help: exit 0" test $? -eq 0
check "tickflow --help: usage and subcommands" grep -q "Usage: .*tickflow" "$tmp/help"
check "tickflow --version: $version" test "$("$bin" --version)" = "tickflow $version"
"$bin" tuning check --config "$profiles/laptop-2core.toml" >"$tmp/tuning" 2>&1
check "tuning check, extracted laptop profile: exit 0 (nothing pinned)" test $? -eq 0
check "tuning check: host and profile report" sh -c "grep -qx host '$tmp/tuning' && grep -qx profile '$tmp/tuning'"

# The bundled full-length trade captures with the extracted laptop profile:
# 939 bars, 345 of them spot 1 s bars (tests/cli/replay_test.sh derives the
# figures), byte for byte what the unstripped build binary writes.
trades="$src/tests/data/binance-20240808-trades"
captures=(BINANCE="$trades/spot_btcusdt.gz" BINANCE_FUTURES="$trades/usdm_btcusdt.gz"
  BINANCE_FUTURES="$trades/cm_btcusd_perp.gz")
"$bin" replay --quiet --config "$profiles/laptop-2core.toml" --bars-out "$tmp/bars.lp" "${captures[@]}" 2>"$tmp/err"
check "replay: exit 0" test $? -eq 0
check "replay: 939 bars" test "$(wc -l <"$tmp/bars.lp")" -eq 939
check "replay: 345 spot 1s bars" test "$(grep -c '^trades_1s,market=BINANCE:btcusdt ' "$tmp/bars.lp")" -eq 345
"$build/runtime/tickflow" replay --quiet --config "$src/tuning/laptop-2core.toml" --bars-out "$tmp/build.lp" \
  "${captures[@]}" 2>/dev/null
check "replay: the same bytes as the build tree's binary" cmp -s "$tmp/bars.lp" "$tmp/build.lp"

# ---- maintainer scripts, under DPKG_ROOT=$root ------------------------------------
# PATH holds only stubs for what changes the system (they log their
# arguments) and the coreutils the scripts need: a command added to a script
# without a stub here fails the test instead of running on this host.
dpkg-deb -e "$deb" "$tmp/control"
mkdir "$tmp/stubs"
for tool in sh mkdir sed chmod mv rm rmdir cat; do ln -s "$(command -v "$tool")" "$tmp/stubs/$tool"; done
: >"$tmp/accounts"
# getent passwd|group NAME: from the accounts the adduser stub made.
cat >"$tmp/stubs/getent" <<EOF
#!/bin/sh
$(command -v grep) -qx "\$1 \$2" "$tmp/accounts"
EOF
cat >"$tmp/stubs/adduser" <<EOF
#!/bin/sh
echo "adduser \$*" >>"$tmp/calls"
printf 'passwd tickflow\ngroup tickflow\n' >>"$tmp/accounts"
EOF
# No statoverride registered: exit 1, as dpkg-statoverride --list then does.
cat >"$tmp/stubs/dpkg-statoverride" <<EOF
#!/bin/sh
echo "dpkg-statoverride \$*" >>"$tmp/calls"
exit 1
EOF
for tool in chown deb-systemd-invoke systemctl; do
  printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$tool" "$tmp/calls" >"$tmp/stubs/$tool"
done
chmod +x "$tmp/stubs"/*
maint() { # maint SCRIPT ARGS...: run a maintainer script as dpkg would, under $root
  : >"$tmp/calls"
  env -i PATH="$tmp/stubs" DPKG_ROOT="$root" "$tmp/stubs/sh" "$tmp/control/$1" "${@:2}" >"$tmp/maint.out" 2>&1
  local rc=$?
  [[ $rc -eq 0 ]] || sed "s/^/     $1 $2: /" "$tmp/maint.out"
  return $rc
}

config="$root/etc/tickflow/tickflow.toml"
maint postinst configure ""
check "postinst configure (fresh): exit 0" test $? -eq 0
check "postinst: adds the system user tickflow with its group, home /var/lib/tickflow" \
  grep -qx "adduser --system --quiet --group --home /var/lib/tickflow --no-create-home tickflow" "$tmp/calls"
check "postinst: /var/lib/tickflow, owned by tickflow, 0750" sh -c "test -d '$root/var/lib/tickflow' &&
  grep -qx 'chown tickflow:tickflow $root/var/lib/tickflow' '$tmp/calls' &&
  test \"\$(stat -c %a '$root/var/lib/tickflow')\" = 750"
check "postinst: /etc/tickflow/tickflow.toml, 0644" test "$(stat -c %a "$config" 2>/dev/null)" = 644
# The config = the 4-line header + the profile with spool_dir and jsonl
# absolute, in the state directory.
tail -n +5 "$config" | diff - "$profiles/laptop-2core.toml" >"$tmp/changed"
check "postinst: the config is the laptop profile ..." test "$(grep -c '^[<>]' "$tmp/changed")" -eq 4
check "... with spool_dir in /var/lib/tickflow" grep -qx '< spool_dir = "/var/lib/tickflow/spool" .*' "$tmp/changed"
check "... with the signals' jsonl in /var/lib/tickflow" grep -qx '< jsonl = "/var/lib/tickflow/signals.jsonl"' "$tmp/changed"
check "... in place of the profile's relative ones" test "$(grep -c '^> \(spool_dir = "var/spool"\|jsonl = "var/signals.jsonl"\)' "$tmp/changed")" -eq 2
check "postinst: the config says where it came from" grep -q "^# .*/usr/share/tickflow/profiles/laptop-2core.toml" "$config"
"$bin" tuning check --config "$config" >/dev/null 2>&1
check "postinst's config loads and fits (tuning check exit 0)" test $? -eq 0
check "postinst under DPKG_ROOT: the running systemd left alone" sh -c "! grep -q 'systemctl\|deb-systemd-invoke' '$tmp/calls'"

echo '# edited by the operator' >>"$config"
cp "$config" "$tmp/edited.toml"
maint postinst configure "$version-1"
check "postinst configure (upgrade): exit 0" test $? -eq 0
check "upgrade: the edited config is untouched" cmp -s "$config" "$tmp/edited.toml"
check "upgrade: the user exists, no second adduser" sh -c "! grep -q adduser '$tmp/calls'"
check "upgrade: the state directory's owner set again" grep -qx "chown tickflow:tickflow $root/var/lib/tickflow" "$tmp/calls"
for step in "prerm upgrade $version-1" "postrm upgrade $version-1" "prerm remove" "postrm remove"; do
  # shellcheck disable=SC2086  # the words are the script and its arguments
  maint $step
  rc=$?
  check "$step: exit 0" test $rc -eq 0
  check "$step: the config and the state stay" sh -c "cmp -s '$config' '$tmp/edited.toml' && test -d '$root/var/lib/tickflow'"
done
install -m 0600 /dev/null "$root/etc/tickflow/influx.env"
mkdir -p "$root/var/lib/tickflow/spool" "$root/etc/systemd/system/multi-user.target.wants"
ln -s /usr/lib/systemd/system/tickflow.service "$root/etc/systemd/system/multi-user.target.wants/tickflow.service"
maint postrm purge
check "postrm purge: exit 0" test $? -eq 0
check "purge: the config and the state are gone" sh -c "test ! -e '$config' && test ! -e '$root/var/lib/tickflow'"
check "purge: the enable link is gone" test ! -L "$root/etc/systemd/system/multi-user.target.wants/tickflow.service"
check "purge: the operator's credentials file stays" test -f "$root/etc/tickflow/influx.env"
rm "$root/etc/tickflow/influx.env"
maint postrm purge
check "purge again: exit 0" test $? -eq 0
check "purge again: /etc/tickflow, now empty, is gone" test ! -e "$root/etc/tickflow"
maint postinst frobnicate >/dev/null
check "postinst: an unknown action fails" test $? -ne 0

echo "     $((SECONDS - t0)) s"
if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all package checks passed"
