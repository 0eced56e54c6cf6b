// Cost of a leaf the proxy's CA mints (proxy/cert_minter.hpp): a cache miss is one certificate
// built and signed by the CA (P-256: an ECDSA signature; RSA-2048: an RSA one, ~20x dearer), made
// in the client-hello callback of the first handshake for a name; a hit is a map lookup under
// the cache's mutex. Each iteration of the miss benchmarks uses a name the cache has not seen.
#include <benchmark/benchmark.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <string>
#include <utility>

#include "proxy/cert_minter.hpp"

using faultline::proxy::CertAndKey;
using faultline::proxy::CertMinter;

namespace {

// A self-signed CA (CA:TRUE, keyCertSign) on `key`.
CertAndKey make_ca(EVP_PKEY* raw_key) {
  CertAndKey ca;
  ca.key = std::shared_ptr<EVP_PKEY>(raw_key, EVP_PKEY_free);
  ca.cert = std::shared_ptr<X509>(X509_new(), X509_free);
  X509* x = ca.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("bench CA"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
  X509_set_pubkey(x, ca.key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, ca.key.get(), EVP_sha256());
  return ca;
}

void mint_misses(benchmark::State& state, EVP_PKEY* key) {
  const CertAndKey ca = make_ca(key);
  std::string why;
  auto minter = CertMinter::create(ca, why);
  if (!minter) {
    state.SkipWithError(why.c_str());
    return;
  }
  std::uint64_t n = 0;
  for (auto _ : state) {
    auto leaf = minter->leaf("host" + std::to_string(n++) + ".bench.test", std::nullopt);
    if (!leaf.cert || !leaf.minted) state.SkipWithError("not minted");
    benchmark::DoNotOptimize(leaf);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_MintP256Ca(benchmark::State& state) {
  mint_misses(state, EVP_EC_gen("P-256"));
}
BENCHMARK(BM_MintP256Ca);

void BM_MintRsa2048Ca(benchmark::State& state) {
  mint_misses(state, EVP_RSA_gen(2048));
}
BENCHMARK(BM_MintRsa2048Ca);

void BM_MintCacheHit(benchmark::State& state) {
  const CertAndKey ca = make_ca(EVP_EC_gen("P-256"));
  std::string why;
  auto minter = CertMinter::create(ca, why);
  if (!minter) {
    state.SkipWithError(why.c_str());
    return;
  }
  (void)minter->leaf("api.bench.test", std::nullopt);
  for (auto _ : state) {
    auto leaf = minter->leaf("api.bench.test", std::nullopt);
    benchmark::DoNotOptimize(leaf);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MintCacheHit);

}  // namespace

BENCHMARK_MAIN();
