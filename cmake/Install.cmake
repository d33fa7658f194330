# Install rules: `cmake --install <build> --prefix P` gives
#   P/bin/wman                           the daemon (RPATH $ORIGIN/../<libdir>)
#   P/<libdir>/libwman.so*               the library (see cmake/WmanLibrary.cmake)
#   P/include/wman/*.h                   the public headers of core, config and protocols
#   P/<libdir>/cmake/wman/               find_package(wman) -> wman::wman
#   P/<libdir>/pkgconfig/wman.pc         pkg-config --cflags --libs wman
#   P/share/wman/demo/index.html         the chat demo page
#   P/share/doc/wman/                    README, docs/*.md, examples/app/
#   <sysconfdir>/wman/wman.toml          the default config
#   <unitdir>/wman.service, wman.socket  the systemd units
# where <sysconfdir> is /etc and <unitdir> /lib/systemd/system when P is /usr (the .deb),
# and P/etc and P/lib/systemd/system otherwise. Those two are decided when installing, not
# when configuring, because `--prefix` and CPack choose the prefix only then.
# Tests, benchmarks and the static libraries with their private headers are not installed.
include(CMakePackageConfigHelpers)

set(WMAN_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/wman)
set(WMAN_SYSTEMD_UNIT_SOURCE_DIR ${PROJECT_SOURCE_DIR}/scripts/systemd CACHE PATH
  "Directory holding wman.service and wman.socket to install")

install(TARGETS wman_bin RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS wman_shared EXPORT wmanTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY
    ${PROJECT_SOURCE_DIR}/core/include/wman
    ${PROJECT_SOURCE_DIR}/config/include/wman
    ${PROJECT_SOURCE_DIR}/protocols/include/wman
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_SOURCE_DIR}/docs/demo/index.html
  DESTINATION ${CMAKE_INSTALL_DATADIR}/wman/demo)
# The documentation (the unit file points at deploy.md there) and the out-of-tree app
# module example.
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
  FILES_MATCHING PATTERN "*.md" PATTERN demo EXCLUDE)
install(FILES
    ${PROJECT_SOURCE_DIR}/examples/app/README.md
    ${PROJECT_SOURCE_DIR}/examples/app/CMakeLists.txt
    ${PROJECT_SOURCE_DIR}/examples/app/Makefile
    ${PROJECT_SOURCE_DIR}/examples/app/app.cpp
  DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/app)

# CMake package: wman::wman is the imported libwman.so with the include dir and C++20. Its
# private dependencies (libuv, OpenSSL, spdlog, ...) are not the user's business, so the
# config finds nothing.
install(EXPORT wmanTargets NAMESPACE wman:: DESTINATION ${WMAN_CMAKE_INSTALL_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/wmanConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/wmanConfig.cmake
  INSTALL_DESTINATION ${WMAN_CMAKE_INSTALL_DIR})
# 0.x: a minor release may change the ABI (the soname is major.minor), so only the same
# major.minor satisfies a requested version.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/wmanConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
    ${CMAKE_CURRENT_BINARY_DIR}/wmanConfig.cmake
    ${CMAKE_CURRENT_BINARY_DIR}/wmanConfigVersion.cmake
  DESTINATION ${WMAN_CMAKE_INSTALL_DIR})

# pkg-config file, in two configure_file(@ONLY) steps: now everything but the prefix, which
# is filled in at install time (so `--prefix P` and the .deb's /usr both come out right).
function(wman_pc_dir out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "\${prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()
set(WMAN_PC_PREFIX "@CMAKE_INSTALL_PREFIX@")
wman_pc_dir(WMAN_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
wman_pc_dir(WMAN_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/wman.pc.in ${CMAKE_CURRENT_BINARY_DIR}/wman.pc.in @ONLY)

# Install-time rules: the prefix-dependent destinations and the pkg-config file. Runs in the
# install script, where CMAKE_INSTALL_PREFIX is the final prefix and file(INSTALL) applies
# DESTDIR and records the install manifest like any generated rule.
set(WMAN_INSTALL_BINARY_DIR ${CMAKE_CURRENT_BINARY_DIR})
# The installed config is config/wman.toml with run_dir in /run/wman, the unit's
# RuntimeDirectory: /tmp/wman would be the service's private /tmp (PrivateTmp), where
# `wman status` from a shell cannot find the control socket.
file(READ ${PROJECT_SOURCE_DIR}/config/wman.toml WMAN_DEFAULT_CONFIG)
string(REGEX REPLACE "\nrun_dir = \"[^\"]*\"" "\nrun_dir = \"/run/wman\""
  WMAN_INSTALLED_CONFIG "${WMAN_DEFAULT_CONFIG}")
if(WMAN_INSTALLED_CONFIG STREQUAL WMAN_DEFAULT_CONFIG)
  message(FATAL_ERROR "config/wman.toml has no run_dir line for the installed config")
endif()
file(CONFIGURE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/installed/wman.toml
  CONTENT "${WMAN_INSTALLED_CONFIG}" @ONLY)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/config/wman.toml)
set(WMAN_INSTALL_CONFIG_FILE ${CMAKE_CURRENT_BINARY_DIR}/installed/wman.toml)
set(WMAN_INSTALL_UNIT_FILES "")
foreach(unit wman.service wman.socket)
  string(APPEND WMAN_INSTALL_UNIT_FILES " \"${WMAN_SYSTEMD_UNIT_SOURCE_DIR}/${unit}\"")
endforeach()
string(CONFIGURE [[
  if(CMAKE_INSTALL_PREFIX MATCHES "^/(usr/?)?$")
    set(_wman_etc "/etc")
    set(_wman_units "/lib/systemd/system")
  else()
    set(_wman_etc "@CMAKE_INSTALL_SYSCONFDIR@")
    if(NOT IS_ABSOLUTE "${_wman_etc}")
      set(_wman_etc "${CMAKE_INSTALL_PREFIX}/${_wman_etc}")
    endif()
    set(_wman_units "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
  endif()
  # A name per destination: concurrent installs of one build tree must not share it.
  string(MD5 _wman_key "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}")

  # The demo worker's root becomes the installed demo page, named relative to the config's
  # directory so that it holds in a staged (DESTDIR) tree as well as once installed.
  file(READ "@WMAN_INSTALL_CONFIG_FILE@" _wman_conf)
  set(_wman_data "@CMAKE_INSTALL_DATADIR@")
  if(NOT IS_ABSOLUTE "${_wman_data}")
    set(_wman_data "${CMAKE_INSTALL_PREFIX}/${_wman_data}")
  endif()
  file(RELATIVE_PATH _wman_demo "${_wman_etc}/wman" "${_wman_data}/wman/demo")
  string(REPLACE "\nroot = \"../docs/demo\"" "\nroot = \"${_wman_demo}\"" _wman_conf
    "${_wman_conf}")
  set(_wman_conf_file "@WMAN_INSTALL_BINARY_DIR@/wman.toml.${_wman_key}/wman.toml")
  file(WRITE "${_wman_conf_file}" "${_wman_conf}")
  file(INSTALL DESTINATION "${_wman_etc}/wman" TYPE FILE FILES "${_wman_conf_file}")
  get_filename_component(_wman_conf_dir "${_wman_conf_file}" DIRECTORY)
  file(REMOVE_RECURSE "${_wman_conf_dir}")
  file(INSTALL DESTINATION "${_wman_units}" TYPE FILE FILES @WMAN_INSTALL_UNIT_FILES@)

  set(_wman_pc "@WMAN_INSTALL_BINARY_DIR@/wman.pc.${_wman_key}/wman.pc")
  configure_file("@WMAN_INSTALL_BINARY_DIR@/wman.pc.in" "${_wman_pc}" @ONLY)
  file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/@CMAKE_INSTALL_LIBDIR@/pkgconfig"
    TYPE FILE FILES "${_wman_pc}")
  get_filename_component(_wman_pc_dir "${_wman_pc}" DIRECTORY)
  file(REMOVE_RECURSE "${_wman_pc_dir}")
]] WMAN_INSTALL_CODE @ONLY)
install(CODE "${WMAN_INSTALL_CODE}")
