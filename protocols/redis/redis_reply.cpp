#include "wman/redis_reply.h"

#include <hiredis/hiredis.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace wman {
namespace {

// Builds the tree while hiredis reads: the root is owned here, every other value is an
// element slot of its parent, sized when the parent array was read.
struct TreeBuilder {
  std::unique_ptr<RedisReply> root;
  std::size_t values = 0;
  std::size_t input_size = 0;
  const char* refused = nullptr;

  static TreeBuilder& of(const redisReadTask* task) {
    return *static_cast<TreeBuilder*>(task->privdata);
  }

  // The value slot for `task`, or null (with `refused` set) past the value limit.
  static RedisReply* slot(const redisReadTask* task, RedisReply::Type type) {
    TreeBuilder& b = of(task);
    if (++b.values > kRedisMaxReplyValues) {
      b.refused = "redis reply has too many values";
      return nullptr;
    }
    RedisReply* r = nullptr;
    if (task->parent == nullptr) {
      b.root = std::make_unique<RedisReply>();
      r = b.root.get();
    } else {
      auto* parent = static_cast<RedisReply*>(task->parent->obj);
      r = &parent->elements[static_cast<std::size_t>(task->idx)];
    }
    r->type = type;
    return r;
  }

  static void* string(const redisReadTask* task, char* s, size_t len) {
    if (len > of(task).input_size) {
      of(task).refused = "bulk string length out of range";
      return nullptr;
    }
    const RedisReply::Type type = task->type == REDIS_REPLY_ERROR    ? RedisReply::Type::Error
                                  : task->type == REDIS_REPLY_STATUS ? RedisReply::Type::Status
                                                                     : RedisReply::Type::String;
    RedisReply* r = slot(task, type);
    if (r) r->str.assign(s, len);
    return r;
  }

  static void* array(const redisReadTask* task, int elements) {
    TreeBuilder& b = of(task);
    // Every element takes at least three bytes on the wire ("+\r\n"), so a count the input
    // cannot hold is refused before anything is allocated for it.
    if (elements < 0 || static_cast<std::size_t>(elements) > b.input_size / 3) {
      b.refused = "array length out of range";
      return nullptr;
    }
    RedisReply* r = slot(task, RedisReply::Type::Array);
    if (r) r->elements.resize(static_cast<std::size_t>(elements));
    return r;
  }

  static void* integer(const redisReadTask* task, long long value) {
    RedisReply* r = slot(task, RedisReply::Type::Integer);
    if (r) r->integer = value;
    return r;
  }

  static void* nil(const redisReadTask* task) { return slot(task, RedisReply::Type::Nil); }

  static void release(void*) {}
};

redisReplyObjectFunctions kTreeHooks = {
    &TreeBuilder::string, &TreeBuilder::array,   &TreeBuilder::integer,
    &TreeBuilder::nil,    &TreeBuilder::release,
};

bool failWith(std::string* error, std::string why) {
  if (error) *error = std::move(why);
  return false;
}

}  // namespace

std::optional<RedisReply> parseRedisReply(ByteSpan bytes, std::string* error) {
  if (bytes.empty()) {
    failWith(error, "empty input");
    return std::nullopt;
  }
  std::unique_ptr<redisReader, decltype(&redisReaderFree)> reader(
      redisReaderCreateWithFunctions(&kTreeHooks), &redisReaderFree);
  if (!reader) throw std::bad_alloc();
  TreeBuilder builder;
  builder.input_size = bytes.size();
  reader->privdata = &builder;
  void* done = nullptr;
  if (redisReaderFeed(reader.get(), reinterpret_cast<const char*>(bytes.data()), bytes.size()) !=
          REDIS_OK ||
      redisReaderGetReply(reader.get(), &done) != REDIS_OK) {
    failWith(error, builder.refused ? builder.refused : reader->errstr);
    return std::nullopt;
  }
  if (done == nullptr) {
    failWith(error, "incomplete reply");
    return std::nullopt;
  }
  if (reader->len != reader->pos) {
    failWith(error, "bytes after the reply");
    return std::nullopt;
  }
  return std::move(*builder.root);
}

std::string formatRedisCommand(std::span<const std::string_view> argv) {
  if (argv.empty()) throw std::invalid_argument("a redis command needs at least its name");
  std::vector<const char*> pointers;
  std::vector<std::size_t> lengths;
  pointers.reserve(argv.size());
  lengths.reserve(argv.size());
  for (std::string_view arg : argv) {
    pointers.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* wire = nullptr;
  const int size =
      redisFormatCommandArgv(&wire, static_cast<int>(argv.size()), pointers.data(), lengths.data());
  if (size < 0 || wire == nullptr) throw std::bad_alloc();
  std::string out(wire, static_cast<std::size_t>(size));
  redisFreeCommand(wire);
  return out;
}

}  // namespace wman
