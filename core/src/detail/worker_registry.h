// Every wman::Worker constructed in this program, in construction order; runAll() serves
// them (Workerman keeps the same list in Worker::$_workers).
#pragma once

#include <vector>

namespace wman {
class Worker;
namespace detail {
std::vector<Worker*>& registeredWorkers();
}  // namespace detail
}  // namespace wman
