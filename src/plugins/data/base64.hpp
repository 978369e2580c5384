// base64= (RFC 4648, standard alphabet, padded; blanks are ignored).
#pragma once

#include <string>
#include <string_view>

namespace data {

// Throws nbdkit::Error for text that is not base64.
std::string decode_base64(std::string_view text);

}  // namespace data
