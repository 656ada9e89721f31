#pragma once

#include <string>

namespace omega {

/// The files of a cluster certificate folder, as `omega-admin cluster`
/// writes them: the operator's CA and one certificate and key per node.
struct cert_paths {
  std::string cert;
  std::string key;
};

/// DIR/ca.pem and DIR/ca.key.
cert_paths ca_paths(const std::string& dir);

/// DIR/NODE.pem and DIR/NODE.key.
cert_paths node_paths(const std::string& dir, const std::string& node);

/// Whether `node` can name a certificate and its files: 1 to 64 of
/// A-Z a-z 0-9 . _ - (no leading dot), so it is a file name and a DNS SAN.
bool valid_cert_name(const std::string& node);

/// Makes a new cluster CA in `dir` (created if missing, mode 0700): an EC
/// P-256 key (ca.key, mode 0600) and a self-signed X.509 v3 certificate
/// (ca.pem) with CA:TRUE, pathlen 0, valid for `days`. Never overwrites:
/// an existing ca.key is an error. False, with `err` set, on failure.
bool make_ca(const std::string& dir, int days, std::string& err);

/// Issues a node certificate signed by the CA in `dir`: NODE.key (EC P-256,
/// mode 0600) and NODE.pem with CN and DNS SAN `node`, CA:FALSE and the
/// server and client purposes (a node both accepts and opens connections),
/// valid for `days`. Never overwrites an existing NODE.key. False, with
/// `err` set, on failure.
bool issue_cert(const std::string& dir, const std::string& node, int days,
                std::string& err);

} // namespace omega
