// `tls_bad_cert`: a handshake fault naming which substitute certificate to serve.
#include <gtest/gtest.h>

#include "tests/proxy/behaviors/stage_support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;

TEST(TlsBadCert, NamesTheSubstitute) {
  for (auto [name, which] :
       {std::pair{"expired", BadCert::expired}, std::pair{"wrong_host", BadCert::wrong_host},
        std::pair{"self_signed", BadCert::self_signed}}) {
    auto config = parse_behavior("tls_bad_cert", {{"certificate", name}}, Protocol::http);
    ASSERT_TRUE(config);
    EXPECT_EQ(config->handshake_fault()->bad_cert, which);
    EXPECT_EQ(config->attributes(), (json{{"certificate", name}}));
  }
}

TEST(TlsBadCert, CertificateIsRequiredAndChecked) {
  for (const json& attrs : {json::object(), json{{"certificate", "old"}}}) {
    ConfigErrors errors;
    parse_toxic({{"type", "tls_bad_cert"}, {"attributes", attrs}}, "$", Protocol::tcp,
                builtin_registry(), errors);
    EXPECT_NE(errors.to_string().find("$.attributes.certificate"), std::string::npos)
        << errors.to_string();
  }
}
