// Gathered sends: a large message goes to the kernel from the application's memory, behind
// what was queued before it, with its protocol's head and tail around it in one writev. The
// usual path copies every payload into the output and writes once per loop pass, which for
// small messages saves system calls; for a payload of tens of KiB or more the copy costs more than
// the extra write, and is paid again when the kernel takes the bytes.
#include <array>

#include "detail/buffer_pool.h"
#include "detail/connection_impl.h"
#include "detail/event_loop.h"
#include "detail/worker_runtime.h"

namespace wman::detail {

bool ConnectionImpl::sendGathered(std::string_view data, MessageKind kind) {
  std::string head;  // a frame header fits the string's own storage: no allocation
  std::string_view tail;
  if (!codec_->encodeHead(asBytes(data), kind, head, tail)) return false;

  std::string& out = this->out();
  const std::array<std::string_view, 4> parts{std::string_view(out), head, data, tail};
  const int written = sendParts(parts.data(), parts.size());
  if (written < 0) {
    failed("write", written);
    return true;
  }

  // Keep what the kernel did not take, in order; the flush of this pass writes it.
  std::size_t skip = static_cast<std::size_t>(written);
  std::size_t left = 0;
  for (std::string_view p : parts) left += p.size();
  left -= skip;
  const std::size_t from_out = std::min(skip, out.size());
  out.erase(0, from_out);
  skip -= from_out;
  if (left > out.size()) buffers().provide(out, left);
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::size_t taken = std::min(skip, parts[i].size());
    out.append(parts[i].substr(taken));
    skip -= taken;
  }
  if (out.empty()) {
    handBack(out);
    noteWritten();
  } else {
    scheduleFlush();
  }
  return true;
}

}  // namespace wman::detail
