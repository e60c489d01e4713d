// Escaping text for HTML and SVG (XML) documents.
#pragma once
#include <string>
#include <string_view>

namespace modelc {

// `s` as HTML/XML character data or a double-quoted attribute value:
// & < > " ' become entities; everything else (UTF-8 included) is kept.
std::string HtmlEscape(std::string_view s);

}  // namespace modelc
