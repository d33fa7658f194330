// Reading of [[worker]] tables and the checks that span several workers.
#pragma once

#include <toml++/toml.h>
#include <string>
#include <string_view>
#include <vector>

#include "detail/field_reader.h"
#include "wman/config.h"

namespace wman::detail {

// One [[worker]] as read, with what the cross-worker checks need to know about it.
struct WorkerEntry {
  WorkerConfig config;
  const toml::table* table = nullptr;  // the [[worker]] table, for error positions
  bool name_explicit = false;          // `name` was written (not defaulted)
  bool listen_ok = false;              // `listen` parsed and is usable
};

// Reads and validates one [[worker]] table. Errors go to `reader`; the returned entry is
// filled as far as possible so later checks still run.
WorkerEntry readWorker(FieldReader& reader, const toml::table& table);

// Gives unnamed workers their default name, then reports duplicate names and listen
// addresses that would collide at bind time (errors point at the later worker), and checks
// the options of built-in apps that name the worker in their messages.
void checkWorkers(FieldReader& reader, std::vector<WorkerEntry>& workers);

}  // namespace wman::detail
