// Request-framing rules of the HTTP server, kept apart from its connection handling: obsolete
// line folding, untrustworthy Transfer-Encoding (request smuggling) and absolute-form targets.
#pragma once

#include <optional>

#include <boost/asio/buffer.hpp>

#include "common/http_server.hpp"

namespace faultline::http_rules {

// True when a request head uses obsolete line folding (a field line starting with SP or HTAB).
// Beast unfolds it into the previous field's value, as RFC 9112 §5.2 allows; we reject it, the
// other choice the RFC offers, because a front proxy that reads the folded line as a field of its
// own (" Transfer-Encoding: chunked") would frame the body differently (request smuggling).
bool has_obs_fold(boost::asio::const_buffer head);

// Request framing the parser accepted but that cannot be trusted (RFC 9112 §6.1, §6.3): the
// answer (400/501, the connection then closes), or nullopt when the framing is sound.
std::optional<HttpResponse> framing_error(const HttpRequest& req);

// An absolute-form target ("http://host:port/path?query") becomes its origin form, and Host its
// authority (RFC 9112 §3.2.2).
void to_origin_form(HttpRequest& req);

}  // namespace faultline::http_rules
