#include "tools/cluster_tls.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "transport/openssl_text.hpp"

namespace omega {

namespace {

template <class T, void (*Free)(T*)>
struct free_with {
  void operator()(T* x) const {
    Free(x);
  }
};

using pkey_ptr = std::unique_ptr<EVP_PKEY, free_with<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, free_with<X509, X509_free>>;
using store_ptr
  = std::unique_ptr<X509_STORE, free_with<X509_STORE, X509_STORE_free>>;
using store_ctx_ptr
  = std::unique_ptr<X509_STORE_CTX,
                    free_with<X509_STORE_CTX, X509_STORE_CTX_free>>;

void free_chain(STACK_OF(X509) * chain) {
  sk_X509_pop_free(chain, X509_free);
}

using chain_ptr
  = std::unique_ptr<STACK_OF(X509), free_with<STACK_OF(X509), free_chain>>;

file_ptr open_file(const std::string& path, std::string& err) {
  file_ptr f{std::fopen(path.c_str(), "r")};
  if (!f)
    err = "cannot read " + path + ": " + std::strerror(errno);
  return f;
}

/// The leaf certificate of `path` and the intermediates after it, as
/// `SSL_CTX_use_certificate_chain_file` (which CAF uses) reads them.
bool read_chain(const std::string& path, x509_ptr& leaf, chain_ptr& rest,
                std::string& err) {
  auto f = open_file(path, err);
  if (!f)
    return false;
  leaf.reset(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  if (!leaf) {
    err = path + " holds no PEM certificate: " + openssl_errors();
    return false;
  }
  rest.reset(sk_X509_new_null());
  while (auto next = PEM_read_X509(f.get(), nullptr, nullptr, nullptr))
    sk_X509_push(rest.get(), next);
  ERR_clear_error(); // the end of the file reads as an error
  return true;
}

bool read_key(const cluster_credentials& creds, pkey_ptr& key,
              std::string& err) {
  auto f = open_file(creds.key, err);
  if (!f)
    return false;
  // With no callback, OpenSSL takes the last argument as the passphrase; an
  // empty one fails an encrypted key instead of prompting on the terminal.
  auto pass = const_cast<char*>(creds.passphrase.c_str());
  key.reset(PEM_read_PrivateKey(f.get(), nullptr, nullptr, pass));
  if (!key) {
    err = "cannot read the private key " + creds.key
          + (creds.passphrase.empty() ? " (if it is encrypted, give "
                                        "--cluster-key-passphrase-file)"
                                      : "")
          + ": " + openssl_errors();
    return false;
  }
  return true;
}

/// Verifies `leaf` against the CA file for one TLS purpose.
bool verify(const cluster_credentials& creds, X509* leaf, STACK_OF(X509) * rest,
            int purpose, std::string& err) {
  store_ptr store{X509_STORE_new()};
  if (!store || X509_STORE_load_file(store.get(), creds.ca.c_str()) != 1) {
    err = "cannot load the CA file " + creds.ca + ": " + openssl_errors();
    return false;
  }
  store_ctx_ptr ctx{X509_STORE_CTX_new()};
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf, rest) != 1
      || X509_STORE_CTX_set_purpose(ctx.get(), purpose) != 1) {
    err = "cannot verify certificates: " + openssl_errors();
    return false;
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    err = creds.cert + " does not verify against " + creds.ca + ": "
          + X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    return false;
  }
  return true;
}

std::string common_name_of(X509* cert) {
  char buf[256] = {};
  auto len = X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
                                       NID_commonName, buf, sizeof(buf));
  return len > 0 ? std::string(buf, static_cast<size_t>(len)) : std::string{};
}

} // namespace

bool check_credentials(const cluster_credentials& creds,
                       std::string& common_name, std::string& err) {
  x509_ptr leaf;
  chain_ptr rest;
  pkey_ptr key;
  if (!read_chain(creds.cert, leaf, rest, err) || !read_key(creds, key, err))
    return false;
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    err = creds.key + " is not the key of " + creds.cert;
    ERR_clear_error();
    return false;
  }
  if (!verify(creds, leaf.get(), rest.get(), X509_PURPOSE_SSL_SERVER, err)
      || !verify(creds, leaf.get(), rest.get(), X509_PURPOSE_SSL_CLIENT, err))
    return false;
  common_name = common_name_of(leaf.get());
  return true;
}

bool read_passphrase(const std::string& path, std::string& out,
                     std::string& err) {
  std::ifstream in{path};
  if (!in) {
    err = "cannot read the passphrase file " + path;
    return false;
  }
  std::getline(in, out);
  if (!out.empty() && out.back() == '\r')
    out.pop_back();
  return true;
}

} // namespace omega
