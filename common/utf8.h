// IsUtf8: whether text is well-formed UTF-8, the one check for every customer
// string that ends up in a JSON document (an OCI image config or runtime spec,
// an image label): a JSON writer cannot hold other bytes, and nlohmann::json
// throws on them. So text is refused where it enters (the builder, sauron's
// API), with a message naming it, rather than failing later in a daemon.
//
// Contract: well-formed per RFC 3629: no overlong forms, no surrogates
// (U+D800..U+DFFF), nothing past U+10FFFF, no sequence cut short. NUL and
// other controls are valid UTF-8 (callers refuse them separately if they
// must: HasControlByte). Pure, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rv {

bool IsUtf8(std::string_view s);

// Whether s holds a C0 control byte (NUL, tab and newline among them) or DEL:
// text shown in one line of a table or an event must not.
bool HasControlByte(std::string_view s);

// The first `max` bytes of s with every byte but printable ASCII as '?': what
// a log line or a refusal may quote of text it did not accept.
std::string PrintableAscii(std::string_view s, size_t max);

}  // namespace rv
