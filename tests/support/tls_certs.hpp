// A throw-away PKI for tests: CA, server certificate for localhost / 127.0.0.1 / ::1 and a client
// certificate, both signed by the CA, generated fresh into a directory (never checked in).
#pragma once

#include <filesystem>

namespace faultline::test {

struct TestPki {
  std::filesystem::path dir, ca_cert, ca_key, server_cert, server_key, client_cert, client_key;
};

// Writes ca.pem/ca.key, server.pem/server.key, client.pem/client.key into `dir` (created if
// missing). Fails the current test (ADD_FAILURE) if OpenSSL cannot; paths are returned anyway.
TestPki make_test_pki(const std::filesystem::path& dir);

}  // namespace faultline::test
