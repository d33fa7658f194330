#include "wman/app_module.h"

#include <dlfcn.h>

#include "detail/log.h"

namespace wman {

bool loadAppModule(const std::string& path, Worker& worker, std::string* error) {
  auto fail = [&](std::string why) {
    if (error) *error = "app module " + path + ": " + why;
    return false;
  };
  // RTLD_NOW: an unresolved symbol fails here, at load, not at the first message.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) return fail(dlerror());
  using Entry = void (*)(Worker&);
  auto entry = reinterpret_cast<Entry>(dlsym(handle, "wman_app_entry_v1"));
  if (!entry) {
    dlclose(handle);
    return fail("no WMAN_APP entry point (symbol wman_app_entry_v1)");
  }
  try {
    entry(worker);
  } catch (const std::exception& e) {
    return fail(std::string("init threw: ") + e.what());
  } catch (...) {
    return fail("init threw a non-standard exception");
  }
  detail::log().info("worker {}: loaded app module {}", worker.name, path);
  return true;
}

}  // namespace wman
