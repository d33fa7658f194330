// For process models only (wman's worker processes use it; applications use wman/bus.h):
// how this process's bus API reaches other processes. Without a backend every send and
// query stays inside the process. With one, local receivers are served here at once and
// the backend carries the envelope to every other process that holds a receiver; what
// arrives from there is handed to busDeliver().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wman {

// What an envelope or an interest names.
enum class BusTarget : std::uint8_t { Client, Uid, Group, All, Channel };

// One message on its way to receivers. `name` is the client id, uid, group or channel
// (empty for All). `close` asks a Client target to close after `data` (closeClient).
struct BusEnvelope {
  BusTarget target = BusTarget::All;
  std::string name;
  std::string data;
  std::vector<std::string> exclude;  // client ids not to reach (Group, All)
  bool close = false;
};

// The questions of wman/bus.h. Answers add up over processes: `count` sums, `items`
// concatenate (uid lists are made distinct by the asker).
enum class BusQuestion : std::uint8_t { UidOnline, GroupCount, GroupClients, AllCount, GroupUids };
struct BusAnswer {
  std::size_t count = 0;
  std::vector<std::string> items;
};

class BusBackend {
 public:
  virtual ~BusBackend() = default;
  // Carries `e` to the other processes (never back to this one).
  virtual void forward(const BusEnvelope& e) = 0;
  // This process gained its first (`on`) or lost its last receiver for a uid, group or
  // channel. Client and All interests are implied by being linked at all.
  virtual void interest(BusTarget target, std::string_view name, bool on) = 0;
  // Asks every process, this one included, and later calls busAnswered(id, ...) once.
  virtual void ask(std::uint64_t id, BusQuestion q, std::string_view name,
                   std::uint64_t timeout_ms) = 0;
};

// Installs `backend` for this process (nullptr: this process only). Not owned.
void setBusBackend(BusBackend* backend);
// Names this process in client ids: the node (letters, digits, '.', '_', '-') and an
// incarnation number no earlier process of the node used. Without a call: the host name
// and a random number drawn in this process.
void setBusIdentity(std::string node, std::uint64_t incarnation);
// This process's node name and incarnation, as used in its client ids. The incarnation is
// drawn (64 random bits) on first use in each process, forked children included.
const std::string& busNode();
std::uint64_t busIncarnation();

// Delivers an envelope that came from another process to this process's receivers.
void busDeliver(const BusEnvelope& e);
// What this process holds towards question `q` (the backend's answer for this process).
BusAnswer busAnswerHere(BusQuestion q, std::string_view name);
// The merged answer to the ask() with `id`.
void busAnswered(std::uint64_t id, BusAnswer answer, int replied, int asked);
// Every uid, group and channel this process has receivers for, to announce on (re)linking.
std::vector<std::pair<BusTarget, std::string>> busInterests();

// A client id split into its parts; false if `id` is not one.
struct ClientAddress {
  std::string node;
  std::uint64_t incarnation = 0;
  std::uint64_t worker = 0;  // index of the Worker inside its process
  std::uint64_t connection = 0;
};
bool parseClientId(std::string_view id, ClientAddress& out);

}  // namespace wman
