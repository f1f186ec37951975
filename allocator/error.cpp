#include "allocator/error.h"

#include <string_view>

namespace tally {
namespace {

std::string place_of(const std::source_location& where) {
  std::string_view file = where.file_name();
  if (auto slash = file.rfind('/'); slash != std::string_view::npos) {
    auto parent = file.rfind('/', slash - 1);
    file.remove_prefix(parent == std::string_view::npos ? 0 : parent + 1);
  }
  return std::string(file) + ":" + std::to_string(where.line());
}

std::string compose(const std::string& call, const std::string& code, const std::string& detail,
                    const std::string& place) {
  std::string text = detail.empty() ? code : detail;
  if (!call.empty()) text += " [" + code + " from " + call + " at " + place + "]";
  return text;
}

}  // namespace

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::usage:
      return "usage";
    case ErrorKind::data:
      return "data";
    case ErrorKind::out_of_memory:
      return "out_of_memory";
    case ErrorKind::device:
      return "device";
    case ErrorKind::internal:
      return "internal";
  }
  return "internal";
}

int exit_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::usage:
      return 2;
    case ErrorKind::data:
      return 3;
    case ErrorKind::out_of_memory:
      return 4;
    case ErrorKind::device:
      return 5;
    case ErrorKind::internal:
      return 70;
  }
  return 70;
}

Error::Error(ErrorKind kind, std::string call, std::string code, std::string detail,
             std::source_location where)
    : std::runtime_error(compose(call, code, detail, place_of(where))),
      kind_(kind),
      call_(std::move(call)),
      code_(std::move(code)),
      place_(place_of(where)) {}

OutOfMemoryError::OutOfMemoryError(std::size_t requested, std::string detail,
                                   std::source_location where)
    : Error(ErrorKind::out_of_memory, "", "out_of_memory", std::move(detail), where),
      requested_(requested) {}

}  // namespace tally
