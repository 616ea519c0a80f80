# cmake/packaging.cmake: what `cmake --install` puts on a host, and the
# Debian package CPack builds from it (scripts/package.sh,
# tests/cli/package_test.sh).
#
#   bin/tickflow                              the CLI (stripped in the .deb)
#   share/tickflow/profiles/*.toml            the tuning profiles, as examples;
#                                             postinst copies laptop-2core.toml
#                                             to /etc/tickflow/tickflow.toml
#   lib/systemd/system/tickflow.service       the unit (tuning/tickflow.service)
#   share/doc/tickflow/...                    the READMEs, copyright, changelog
#   share/man/man1/tickflow.1.gz              the manual page
#
# Only the service's pieces: no test binaries, benchmarks or static
# libraries. The package is prefix /usr; the unit's ExecStart names
# /usr/bin/tickflow, and a `cmake --install --prefix` elsewhere rewrites it.

include(GNUInstallDirs)

# The package needs only `tickflow`: `cpack` and the `install` target must
# not build every test and benchmark first (Ninja's `install` depends on
# `all` otherwise). Build `tickflow` before installing or packaging.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
# Directories in the package are 0755 whatever the builder's umask.
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
  OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

set(TICKFLOW_PACKAGING_DIR "${PROJECT_SOURCE_DIR}/packaging")
set(TICKFLOW_DOC_DIR "${CMAKE_INSTALL_DATAROOTDIR}/doc/tickflow")

install(TARGETS tickflow RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")

file(GLOB TICKFLOW_PROFILES CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/tuning/*.toml")
install(FILES ${TICKFLOW_PROFILES} DESTINATION "${CMAKE_INSTALL_DATAROOTDIR}/tickflow/profiles")

# lib/, not ${CMAKE_INSTALL_LIBDIR} (lib/x86_64-linux-gnu on Debian):
# systemd reads units from <prefix>/lib/systemd/system.
install(FILES "${PROJECT_SOURCE_DIR}/tuning/tickflow.service" DESTINATION lib/systemd/system)
install(CODE [[
  if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(unit "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/lib/systemd/system/tickflow.service")
    file(READ "${unit}" text)
    string(REPLACE "/usr/bin/tickflow" "${CMAKE_INSTALL_PREFIX}/bin/tickflow" text "${text}")
    string(REPLACE "/usr/share/doc/tickflow" "${CMAKE_INSTALL_PREFIX}/share/doc/tickflow" text "${text}")
    file(WRITE "${unit}" "${text}")
  endif()
]])

# The READMEs an operator reads, in the source tree's layout (the unit's
# Documentation= points at tuning/README.md). bench/, perf/ and tests/ are
# about developing tickflow, not running it.
install(FILES "${PROJECT_SOURCE_DIR}/README.md" "${TICKFLOW_PACKAGING_DIR}/debian/copyright"
  DESTINATION "${TICKFLOW_DOC_DIR}")
foreach(folder tuning feeds pipeline strategy)
  install(FILES "${PROJECT_SOURCE_DIR}/${folder}/README.md" DESTINATION "${TICKFLOW_DOC_DIR}/${folder}")
endforeach()

# Debian wants the manual page and the changelog compressed with gzip -9n
# (-n: no name or timestamp in the header, so the bytes are reproducible).
# Done at configure time (configure_file re-runs it when a source changes),
# so that installing needs nothing built but `tickflow`.
set(TICKFLOW_DEB_REVISION 1)
set(TICKFLOW_DEB_VERSION "${PROJECT_VERSION}-${TICKFLOW_DEB_REVISION}")
string(TIMESTAMP TICKFLOW_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)  # honours SOURCE_DATE_EPOCH
configure_file("${TICKFLOW_PACKAGING_DIR}/debian/changelog.in"
  "${PROJECT_BINARY_DIR}/packaging/changelog.Debian" @ONLY)
configure_file("${TICKFLOW_PACKAGING_DIR}/tickflow.1" "${PROJECT_BINARY_DIR}/packaging/tickflow.1" @ONLY)
foreach(name changelog.Debian tickflow.1)
  execute_process(COMMAND gzip -9n -c "${PROJECT_BINARY_DIR}/packaging/${name}"
    OUTPUT_FILE "${PROJECT_BINARY_DIR}/packaging/${name}.gz" COMMAND_ERROR_IS_FATAL ANY)
endforeach()
install(FILES "${PROJECT_BINARY_DIR}/packaging/changelog.Debian.gz" DESTINATION "${TICKFLOW_DOC_DIR}")
install(FILES "${PROJECT_BINARY_DIR}/packaging/tickflow.1.gz" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")

# ---- the .deb -----------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tickflow)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "tickflow maintainers <maintainers@users.noreply.b-seed-c5989168.example>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # tickflow_<version>-<revision>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE "${TICKFLOW_DEB_REVISION}")
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE amd64)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The shared libraries' packages (libcurl4, libssl3, libsimdjson14, ...) come
# from dpkg-shlibdeps; adduser is postinst's.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "low-latency crypto market-data pipeline
Exchange trades, liquidations and quotes from the websocket feeds of about
thirty venues in; 1-second bars in aggr-server's schema, rollups, flow
statistics and SqueezeFlow signals out, to InfluxDB, a JSONL file and Redis.
Pinned threads joined by SPSC rings; a budget of microseconds in the process.

The package installs the tickflow CLI, a systemd unit (not enabled), the
tuning profiles under /usr/share/tickflow/profiles, and creates the system
user tickflow and /etc/tickflow/tickflow.toml (from the laptop profile, never
overwritten).")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  "${TICKFLOW_PACKAGING_DIR}/debian/postinst"
  "${TICKFLOW_PACKAGING_DIR}/debian/prerm"
  "${TICKFLOW_PACKAGING_DIR}/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)  # maintainer scripts 0755, the rest 0644
include(CPack)
