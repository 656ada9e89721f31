#include "tools/cluster_certs.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
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
using bn_ptr = std::unique_ptr<BIGNUM, free_with<BIGNUM, BN_free>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION,
                                free_with<X509_EXTENSION, X509_EXTENSION_free>>;

bool fail(std::string& err, const std::string& what) {
  err = what + ": " + openssl_errors("unknown OpenSSL error");
  return false;
}

/// Opens `path` for writing only if it does not exist yet: keys are made
/// with mode 0600 from the start (no window in which others may read
/// them), and nothing an operator made before is ever replaced.
file_ptr create_new(const std::string& path, mode_t mode, std::string& err) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    err = "cannot create " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  file_ptr f{::fdopen(fd, "w")};
  if (!f) {
    ::close(fd);
    err = "cannot open " + path + ": " + std::strerror(errno);
  }
  return f;
}

file_ptr open_existing(const std::string& path, std::string& err) {
  file_ptr f{std::fopen(path.c_str(), "r")};
  if (!f)
    err = "cannot read " + path + ": " + std::strerror(errno);
  return f;
}

pkey_ptr make_key() {
  return pkey_ptr{EVP_EC_gen("P-256")};
}

/// A random positive 127-bit serial: unique without a serial file to keep.
bool set_serial(X509* cert) {
  bn_ptr bn{BN_new()};
  if (!bn || BN_rand(bn.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1)
    return false;
  return BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

bool set_name(X509_NAME* name, const std::string& cn) {
  auto add = [&](const char* field, const std::string& value) {
    return X509_NAME_add_entry_by_txt(
             name, field, MBSTRING_UTF8,
             reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0)
           == 1;
  };
  return add("O", "omega cluster") && add("CN", cn);
}

bool add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ext_ptr ext{X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str())};
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

/// A certificate for `key` named `cn`, valid from a minute ago (clocks of
/// nodes differ a little) for `days`; not yet signed, issuer not yet set.
x509_ptr new_cert(EVP_PKEY* key, const std::string& cn, int days) {
  x509_ptr cert{X509_new()};
  if (!cert || X509_set_version(cert.get(), 2) != 1 || !set_serial(cert.get())
      || !X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60)
      || !X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr)
      || !set_name(X509_get_subject_name(cert.get()), cn)
      || X509_set_pubkey(cert.get(), key) != 1)
    return nullptr;
  return cert;
}

bool write_key(const std::string& path, EVP_PKEY* key, std::string& err) {
  auto f = create_new(path, 0600, err);
  if (!f)
    return false;
  if (PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
      != 1)
    return fail(err, "cannot write " + path);
  return true;
}

bool write_cert(const std::string& path, X509* cert, std::string& err) {
  auto f = create_new(path, 0644, err);
  if (!f)
    return false;
  if (PEM_write_X509(f.get(), cert) != 1)
    return fail(err, "cannot write " + path);
  return true;
}

/// Writes the key first: if the key exists already, nothing is touched.
bool write_pair(const cert_paths& paths, EVP_PKEY* key, X509* cert,
                std::string& err) {
  if (!write_key(paths.key, key, err))
    return false;
  if (!write_cert(paths.cert, cert, err)) {
    ::unlink(paths.key.c_str());
    return false;
  }
  return true;
}

bool valid_days(int days, std::string& err) {
  if (days < 1 || days > 36500) {
    err = "the validity must be from 1 to 36500 days";
    return false;
  }
  return true;
}

} // namespace

cert_paths ca_paths(const std::string& dir) {
  return {dir + "/ca.pem", dir + "/ca.key"};
}

cert_paths node_paths(const std::string& dir, const std::string& node) {
  return {dir + "/" + node + ".pem", dir + "/" + node + ".key"};
}

bool valid_cert_name(const std::string& node) {
  if (node.empty() || node.size() > 64 || node.front() == '.' || node == "ca")
    return false;
  for (auto c : node) {
    auto ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

bool make_ca(const std::string& dir, int days, std::string& err) {
  if (!valid_days(days, err))
    return false;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    err = "cannot create " + dir + ": " + std::strerror(errno);
    return false;
  }
  auto key = make_key();
  if (!key)
    return fail(err, "cannot make a P-256 key");
  auto cert = new_cert(key.get(), "omega cluster CA", days);
  if (!cert)
    return fail(err, "cannot make the CA certificate");
  auto ok
    = X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) == 1
      && add_ext(cert.get(), cert.get(), NID_basic_constraints,
                 "critical,CA:TRUE,pathlen:0")
      && add_ext(cert.get(), cert.get(), NID_key_usage,
                 "critical,keyCertSign,cRLSign")
      && add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash")
      && X509_sign(cert.get(), key.get(), EVP_sha256()) > 0;
  if (!ok)
    return fail(err, "cannot sign the CA certificate");
  return write_pair(ca_paths(dir), key.get(), cert.get(), err);
}

bool issue_cert(const std::string& dir, const std::string& node, int days,
                std::string& err) {
  if (!valid_days(days, err))
    return false;
  if (!valid_cert_name(node)) {
    err = "a node name for a certificate has 1 to 64 of A-Z a-z 0-9 . _ - "
          "(and is not \"ca\"), got \""
          + node + "\"";
    return false;
  }
  auto ca = ca_paths(dir);
  auto ca_cert_file = open_existing(ca.cert, err);
  if (!ca_cert_file)
    return false;
  x509_ptr ca_cert{
    PEM_read_X509(ca_cert_file.get(), nullptr, nullptr, nullptr)};
  if (!ca_cert)
    return fail(err, "cannot read the CA certificate " + ca.cert);
  auto ca_key_file = open_existing(ca.key, err);
  if (!ca_key_file)
    return false;
  pkey_ptr ca_key{
    PEM_read_PrivateKey(ca_key_file.get(), nullptr, nullptr, nullptr)};
  if (!ca_key)
    return fail(err, "cannot read the CA key " + ca.key);
  if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1)
    return fail(err, ca.key + " does not belong to " + ca.cert);
  auto key = make_key();
  if (!key)
    return fail(err, "cannot make a P-256 key");
  auto cert = new_cert(key.get(), node, days);
  if (!cert)
    return fail(err, "cannot make the node certificate");
  auto ok
    = X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()))
        == 1
      && add_ext(cert.get(), ca_cert.get(), NID_basic_constraints,
                 "critical,CA:FALSE")
      && add_ext(cert.get(), ca_cert.get(), NID_key_usage,
                 "critical,digitalSignature,keyAgreement")
      && add_ext(cert.get(), ca_cert.get(), NID_ext_key_usage,
                 "serverAuth,clientAuth")
      && add_ext(cert.get(), ca_cert.get(), NID_subject_alt_name, "DNS:" + node)
      && add_ext(cert.get(), ca_cert.get(), NID_subject_key_identifier, "hash")
      && add_ext(cert.get(), ca_cert.get(), NID_authority_key_identifier,
                 "keyid:always")
      && X509_sign(cert.get(), ca_key.get(), EVP_sha256()) > 0;
  if (!ok)
    return fail(err, "cannot sign the certificate of " + node);
  return write_pair(node_paths(dir, node), key.get(), cert.get(), err);
}

} // namespace omega
