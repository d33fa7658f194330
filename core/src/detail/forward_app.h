// The built-in `forward` app (see forward_app.cpp and docs/clients.md).
#pragma once

#include "wman/worker.h"

namespace wman::detail {

// Sets `worker`'s callbacks to relay every connection to [worker.options] upstream. Throws
// std::invalid_argument when the upstream URL or its options are unusable.
void installForward(Worker& worker);

}  // namespace wman::detail
