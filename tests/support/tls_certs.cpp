#include "tests/support/tls_certs.hpp"

#include <gtest/gtest.h>

#include "common/tls_certgen.hpp"

namespace faultline::test {

TestPki make_test_pki(const std::filesystem::path& dir) {
  const auto result = tls::write_throwaway_pki(dir);
  if (!result.error.empty()) ADD_FAILURE() << "make_test_pki: " << result.error;
  TestPki pki;
  pki.dir = dir;
  pki.ca_cert = result.files.ca_cert;
  pki.ca_key = result.files.ca_key;
  pki.server_cert = result.files.server_cert;
  pki.server_key = result.files.server_key;
  pki.client_cert = result.files.client_cert;
  pki.client_key = result.files.client_key;
  return pki;
}

}  // namespace faultline::test
