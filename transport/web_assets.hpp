#pragma once

#include <string_view>

namespace omega {

/// A file of the web pages omega serves at fixed paths: the demo page and
/// the JavaScript client. Built into the binary (cmake/embed_web_assets.cmake)
/// from clients/, so the installed server and the files it serves never
/// disagree.
struct web_asset {
  std::string_view path;
  std::string_view content_type;
  std::string_view body;
  /// A strong ETag, quotes included: a hash of `body`.
  std::string_view etag;
};

/// The asset served at `path` (without the query), or null.
const web_asset* find_web_asset(std::string_view path);

} // namespace omega
