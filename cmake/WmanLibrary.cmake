# libwman.so: the one shared library behind the installed `wman` binary, library-mode
# programs built against an install, and app modules. It is the objects of the static
# libraries (all built PIC), so every public symbol of wman lives in exactly one place at run time:
# the `wman` executable links it, and an app module dlopen()ed by a worker resolves wman's
# symbols against that very copy. In-tree tests and examples keep linking the static
# targets (wman::wman in the build tree).

set(WMAN_SHARED_ARCHIVES wman_daemon wman_bus wman_protocol_redis wman_core wman_config wman_protocols llhttp)

# Calls between wman's own functions need not go through the PLT: nothing may interpose
# them (an app module that redefined a wman symbol would be a bug). Only codegen of the
# archives' objects changes; the static in-tree links do not mind.
include(CheckCXXCompilerFlag)
check_cxx_compiler_flag(-fno-semantic-interposition WMAN_HAVE_NO_SEMANTIC_INTERPOSITION)
if(WMAN_HAVE_NO_SEMANTIC_INTERPOSITION)
  foreach(lib IN LISTS WMAN_SHARED_ARCHIVES)
    target_compile_options(${lib} PRIVATE -fno-semantic-interposition)
  endforeach()
endif()

# The library is every object file of the archives, compiled once for both. Linking the
# archives as well brings their private dependencies (libuv, OpenSSL, spdlog, zlib, toml++)
# to this link; no archive member is pulled a second time, since the objects already
# define all of their symbols.
set(WMAN_SHARED_OBJECTS "")
foreach(lib IN LISTS WMAN_SHARED_ARCHIVES)
  list(APPEND WMAN_SHARED_OBJECTS $<TARGET_OBJECTS:${lib}>)
endforeach()
add_library(wman_shared SHARED ${WMAN_SHARED_OBJECTS})
target_link_libraries(wman_shared PRIVATE ${WMAN_SHARED_ARCHIVES})
# What users of the library see: the public headers (core, config, protocols), which
# include nothing but <wman/...> and the standard library, and C++20.
target_include_directories(wman_shared PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/core/include>
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/config/include>
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/protocols/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(wman_shared PUBLIC cxx_std_20)
# 0.x: any minor release may break the ABI, so the soname carries major.minor
# (libwman.so.0.1).
set_target_properties(wman_shared PROPERTIES
  OUTPUT_NAME wman
  EXPORT_NAME wman
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
# Calls from one part of wman to another bind inside the library at link time, not through
# the PLT: without this the pipelined echo benchmark spends about a fifth more CPU per
# message than a static link. Functions only: data (vtables, typeinfo) stays unique across
# the process, so exceptions and dynamic_cast between a module and wman keep working.
target_link_options(wman_shared PRIVATE LINKER:-Bsymbolic-functions)
# Every symbol the archives need must come from a library linked here. (Not under the
# sanitizers: their runtime is resolved from the executable.)
if(NOT WMAN_SANITIZE)
  target_link_options(wman_shared PRIVATE LINKER:--no-undefined)
endif()

# The installed binary finds libwman.so relative to itself, whatever the prefix:
# <prefix>/bin/wman -> <prefix>/<libdir>/libwman.so. (The build tree uses CMake's absolute
# build RPATH, so build/bin/wman runs build/lib/libwman.so.)
set_target_properties(wman_bin PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
