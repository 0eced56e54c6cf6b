// http_rewrite on the protocol-http engine (docs/design/issue-24.md §3): the rewrites of an
// exchange whose response rules match the upstream's head are applied, in toxic order, before the
// head goes to the client. Head-only rewrites leave the body streaming as it comes. A body
// change (`body`, `json_patch`) needs the whole upstream body: it is read first (at most 64 MiB),
// changed, and sent with a Content-Length of its own; a rewrite that cannot apply (a body over
// 64 MiB, not JSON, Content-Encoded, a failed patch) is skipped whole — its head changes too —
// and counted by reason, and the body then goes on as it came (what was read, then the rest).
#include <algorithm>

#include "proxy/http_connection_impl.hpp"
#include "proxy/response_rewrite.hpp"

namespace faultline::proxy {

namespace {

bool is_identity(std::string_view coding) {
  return coding.size() == 8 &&
         std::equal(coding.begin(), coding.end(), "identity", [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

}  // namespace

awaitable<bool> HttpConnection::rewrite_response(std::shared_ptr<HttpConnection> self,
                                                 const std::vector<const RequestFault*>& rewrites,
                                                 bool head_request, http::response_header<>& res,
                                                 std::string& reason, BodyFraming& framing,
                                                 PrefixedSource& body) {
  const unsigned upstream_status = res.result_int();
  std::vector<const RequestFault*> matching;
  for (const RequestFault* f : rewrites)
    if (f->rewrite && f->rewrite->matches(upstream_status, res[http::field::content_type]))
      matching.push_back(f);
  if (matching.empty()) co_return true;
  // HEAD, 204 and 304 have no body to change: their head changes apply alone.
  const bool bodiless = head_request || upstream_status == 204 || upstream_status == 304;
  const bool wants_body =
      !bodiless && std::any_of(matching.begin(), matching.end(),
                               [](const RequestFault* f) { return f->rewrite->changes_body(); });
  bool too_large = false;
  while (wants_body && !body.rest_done) {
    auto [ec, chunk] = co_await body.rest().next();
    if (self->closing_ || ec) co_return false;
    body.prefix.append(chunk.bytes);
    body.rest_done = chunk.last;
    if (!chunk.last && body.prefix.size() > kBodyLimit) {
      too_large = true;
      break;
    }
  }
  const std::string_view coding = res[http::field::content_encoding];
  const bool encoded = !coding.empty() && !is_identity(coding);
  auto& counters = self->proxy_->counters();
  bool body_changed = false;
  for (const RequestFault* f : matching) {
    const ResponseRewrite& rw = *f->rewrite;
    if (!bodiless && rw.changes_body()) {
      const std::optional<RewriteSkip> skip =
          too_large ? RewriteSkip::too_large : rw.rewrite_body(body.prefix, encoded);
      if (skip) {
        counters.rewrites_skipped[static_cast<std::size_t>(*skip)]->Increment();
        continue;
      }
      body_changed = true;
      // A replacement is the toxic's own bytes, not encoded.
      if (rw.body) res.erase(http::field::content_encoding);
    }
    rw.rewrite_head(res);
    if (rw.status) reason.clear();  // the new status's registered phrase
    if (f->counter) f->counter->Increment();
  }
  if (body_changed) {
    res.erase(http::field::transfer_encoding);  // the body is sent whole, with its length
    res.set(http::field::content_length, std::to_string(body.prefix.size()));
    framing = body.prefix.empty() ? BodyFraming::none : BodyFraming::raw;
  } else if (!head_request && (upstream_status == 204 || upstream_status == 304) &&
             res.result_int() != upstream_status) {
    // A bodiless status turned into one whose body is framed: an empty one, said so.
    res.set(http::field::content_length, "0");
  }
  co_return true;
}

}  // namespace faultline::proxy
