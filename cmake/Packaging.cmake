# CPack: `cpack -G DEB` in the build directory makes wman_<version>_<arch>.deb from the
# install rules of cmake/Install.cmake, installed under /usr. Because the prefix is /usr,
# the config lands in /etc/wman/wman.toml (a conffile) and the units in /lib/systemd/system.
set(WMAN_PACKAGE_MAINTAINER "wman maintainers <maintainers@users.noreply.r-seed-4edbb0f3.example>"
  CACHE STRING "Maintainer field of the .deb")

set(CPACK_PACKAGE_NAME wman)
set(CPACK_PACKAGE_VENDOR "wman")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${WMAN_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "event-driven socket server for long-lived connections (Workerman-style)")
set(CPACK_GENERATOR DEB)
set(CPACK_STRIP_FILES ON)

# Install with DESTDIR and the real prefix, so rules that depend on the prefix (sysconfdir
# and the unit directory, decided at install time) see /usr, not a staging directory.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # wman_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${WMAN_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The extended description; CPack puts the summary line above it and indents it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION [[
wman serves chat, push, game and IoT connections over WebSocket, TLS, text,
length-prefixed frames and raw TCP. A master process binds the ports and
supervises forked workers; a reload swaps in new workers without losing a
connection. Workers run built-in apps or app modules (.so) named in
/etc/wman/wman.toml.

This package holds the wman daemon and its systemd units, libwman.so, and the
headers, CMake package and pkg-config file to build app modules and
library-mode programs against it.]])
# Depends from the ELF files themselves (dpkg-shlibdeps): runtime libraries only.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libwman.so is in this very package: tell dpkg-shlibdeps where to find it for usr/bin/wman.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# The config is the administrator's: dpkg keeps local edits across upgrades.
set(WMAN_DEB_CONFFILES ${CMAKE_CURRENT_BINARY_DIR}/deb/conffiles)
file(CONFIGURE OUTPUT ${WMAN_DEB_CONFFILES} CONTENT "/etc/wman/wman.toml\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${WMAN_DEB_CONFFILES})

include(CPack)
