#include <catch2/catch.hpp>

#include "wman/message.h"

using namespace wman;

TEST_CASE("Message is a view with a kind") {
  std::string payload = "hello";
  Message m(std::string_view(payload), MessageKind::Text);
  CHECK(m.view() == "hello");
  CHECK(m.size() == 5);
  CHECK(m.isText());
  CHECK(m.str() == "hello");
  std::string_view sv = m;
  CHECK(sv.data() == payload.data());  // no copy
  Message empty;
  CHECK(empty.empty());
  CHECK(empty.kind() == MessageKind::Binary);
}
