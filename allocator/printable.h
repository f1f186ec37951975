// Text quoted from an input into a message, made safe to print: every error message is one
// line, and a field or file name read from a damaged file can hold any byte.
#pragma once

#include <string>
#include <string_view>

namespace tally {

// `text` with every control character (below 0x20, and 0x7f: a NUL, a CR, a newline) written
// \xNN. Other bytes, UTF-8 among them, stay as they are.
std::string printable(std::string_view text);

}  // namespace tally
