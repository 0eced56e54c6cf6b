// parse_url: the target URL of `faultline load` split into host, port, TLS, Host header and
// origin-form target; every malformed form rejected with a message saying what is wrong.
#include <gtest/gtest.h>

#include "loadgen/url.hpp"

using namespace faultline::loadgen;

TEST(Url, SplitsSchemeHostPortAndTarget) {
  std::string error;
  auto u = parse_url("http://example.com", error);
  ASSERT_TRUE(u) << error;
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->host_header, "example.com");

  u = parse_url("https://example.com:8443/a/b?c=1", error);
  ASSERT_TRUE(u) << error;
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->target, "/a/b?c=1");
  EXPECT_EQ(u->host_header, "example.com:8443");

  u = parse_url("https://example.com", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->port, 443);

  u = parse_url("http://h?x=1", error);  // a query without a path gets "/"
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->target, "/?x=1");
}

TEST(Url, WebSocketSchemesDefaultToPorts80And443) {
  std::string error;
  auto u = parse_url("ws://example.com/ws/echo", error);
  ASSERT_TRUE(u) << error;
  EXPECT_TRUE(u->websocket);
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/ws/echo");
  EXPECT_STREQ(u->scheme(), "ws");
  u = parse_url("wss://[::1]?room=1", error);
  ASSERT_TRUE(u) << error;
  EXPECT_TRUE(u->websocket);
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/?room=1");
  EXPECT_STREQ(u->scheme(), "wss");
  u = parse_url("wss://h:9443/", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->port, 9443);
  EXPECT_STREQ(parse_url("https://h", error)->scheme(), "https");
  EXPECT_FALSE(parse_url("ws:/h", error));
  EXPECT_FALSE(parse_url("wss://", error));
  EXPECT_FALSE(parse_url("ws://u:p@h/", error));
}

TEST(Url, TakesBracketedIpv6Hosts) {
  std::string error;
  auto u = parse_url("http://[::1]:8080/p", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->host_header, "[::1]:8080");
  u = parse_url("https://[::1]", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->port, 443);
}

TEST(Url, RejectsMalformedUrlsSayingWhy) {
  struct Case {
    const char* url;
    const char* message;
  };
  const Case cases[] = {
      {"ftp://x/", "must start with http://, https://, ws:// or wss://"},
      {"example.com", "must start with http://, https://, ws:// or wss://"},
      {"http:///path", "has no host"},
      {"http://h:0/", "bad port"},
      {"http://h:99999/", "bad port"},
      {"http://h:x/", "bad port"},
      {"http://[::1/", "unterminated IPv6"},
      {"http://[::1]x/", "bad URL authority"},
  };
  for (const auto& c : cases) {
    std::string error;
    EXPECT_FALSE(parse_url(c.url, error)) << c.url;
    EXPECT_NE(error.find(c.message), std::string::npos) << c.url << " -> " << error;
  }
}

// Found by fuzz/fuzz_url (fuzz/findings/fuzz_url-empty-host): an authority that is only a port
// was taken as a URL with an empty host.
TEST(Url, RejectsAnEmptyHost) {
  for (const char* bad : {"https://:443/", "http://:80", "http://[]:80/", "http://[]/"}) {
    std::string error;
    EXPECT_FALSE(parse_url(bad, error)) << bad;
    EXPECT_NE(error.find("no host"), std::string::npos) << bad << ": " << error;
  }
}

// user:password@ is not supported (faultline load sends no Authorization from the URL): the
// message says so instead of blaming the port.
TEST(Url, SaysUserinfoIsNotSupported) {
  for (const char* bad : {"http://user:pw@host:8080/", "http://user@host/", "https://@host/"}) {
    std::string error;
    EXPECT_FALSE(parse_url(bad, error)) << bad;
    EXPECT_NE(error.find("user:password@"), std::string::npos) << bad << ": " << error;
    EXPECT_EQ(error.find("bad port"), std::string::npos) << bad << ": " << error;
  }
  std::string error;  // an '@' in the path or query is just data
  auto u = parse_url("http://host/a@b?c=@", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->target, "/a@b?c=@");
}
