// The child-to-parent line protocol: what is printed parses back; malformed lines do not.
#include "common/ready_line.hpp"

#include <gtest/gtest.h>

namespace faultline::ready_line {
namespace {

TEST(ReadyLine, ListeningParsesBackWithAnyPrefixAndTrailingSpace) {
  auto hp = parse_listening("[info] listening on 127.0.0.1:41233 \r\n");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "127.0.0.1");
  EXPECT_EQ(hp->port, 41233);
  auto v6 = parse_listening("listening on [::1]:8080");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->port, 8080);
}

TEST(ReadyLine, ListeningRejectsMalformed) {
  EXPECT_FALSE(parse_listening("bound to 127.0.0.1:1"));
  EXPECT_FALSE(parse_listening("listening on "));
  EXPECT_FALSE(parse_listening("listening on 127.0.0.1"));
  EXPECT_FALSE(parse_listening("listening on 127.0.0.1:99999"));
}

TEST(ReadyLine, StartedAt) {
  auto t = parse_started_at("started at 1796036061.250000\n");
  ASSERT_TRUE(t);
  EXPECT_DOUBLE_EQ(*t, 1796036061.25);
  EXPECT_FALSE(parse_started_at("started at "));
  EXPECT_FALSE(parse_started_at("started at soon"));
  EXPECT_FALSE(parse_started_at("started at 12x"));
  EXPECT_FALSE(parse_started_at("started at -5"));
  EXPECT_FALSE(parse_started_at("begun at 5"));
}

}  // namespace
}  // namespace faultline::ready_line
