#include "nn/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "allocator/error.h"

namespace tally::data {
namespace {

constexpr std::uint8_t kU8 = 0x08;
// gzread takes an unsigned length, so reads go in chunks.
constexpr std::size_t kChunk = std::size_t{1} << 20;
// The data buffer starts this small and doubles as data arrives, so that a header claiming more
// than the file holds never makes us allocate more than twice what the file really has (or this).
constexpr std::size_t kFirstBuffer = std::size_t{64} << 10;

// The element types IDX defines; any other type byte means the file is not IDX at all.
const char* element_type_name(std::uint8_t type) {
  switch (type) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "short";
    case 0x0C:
      return "int";
    case 0x0D:
      return "float";
    case 0x0E:
      return "double";
    default:
      return nullptr;
  }
}

std::string hex32(std::uint32_t value) {
  std::array<char, 11> text{};
  std::snprintf(text.data(), text.size(), "0x%08x", value);
  return text.data();
}

std::uint32_t big_endian32(const std::uint8_t* bytes) {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
         (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

struct GzCloser {
  void operator()(gzFile file) const { gzclose(file); }
};

class GzReader {
 public:
  explicit GzReader(const std::filesystem::path& path) : path_(path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw DataError(path.string() + ": no such file");
    if (std::filesystem::is_directory(path, ec))
      throw DataError(path.string() + ": is a directory, not a file");
    errno = 0;
    file_.reset(gzopen(path.c_str(), "rb"));
    if (!file_)
      throw DataError(path.string() + ": cannot open: " + std::strerror(errno ? errno : ENOMEM));
    gzbuffer(file_.get(), 1 << 17);
  }

  // Reads up to `size` bytes; fewer only at the end of the data. A damaged gzip stream, including
  // one cut short (which zlib reports only as Z_BUF_ERROR, not as a failed read), is an error.
  std::size_t read(std::uint8_t* out, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
      const auto want = static_cast<unsigned>(std::min(size - done, kChunk));
      const int got = gzread(file_.get(), out + done, want);
      if (got < 0) {
        check_stream();
        // zlib always records why gzread failed; this is a backstop.
        throw DataError(path_.string() + ": read error");
      }
      done += static_cast<std::size_t>(got);
      if (got < static_cast<int>(want)) break;
    }
    check_stream();
    return done;
  }

 private:
  void check_stream() {
    int code = Z_OK;
    const char* message = gzerror(file_.get(), &code);
    if (code == Z_OK) return;
    if (code == Z_ERRNO) throw DataError(path_.string() + ": read error: " + std::strerror(errno));
    // zlib prefixes its message with the path, which our message already starts with.
    std::string_view reason = message;
    if (const std::string prefix = path_.string() + ": "; reason.starts_with(prefix)) {
      reason.remove_prefix(prefix.size());
    }
    throw DataError(path_.string() + ": corrupt gzip stream (" + std::string(reason) + ")");
  }

  std::filesystem::path path_;
  std::unique_ptr<gzFile_s, GzCloser> file_;
};

}  // namespace

IdxArray read_idx(const std::filesystem::path& path) {
  GzReader reader(path);

  std::array<std::uint8_t, 4> magic{};
  const std::size_t magic_bytes = reader.read(magic.data(), magic.size());
  if (magic_bytes < magic.size()) {
    throw DataError(path.string() + ": truncated header: expected at least 4 bytes, found " +
                    std::to_string(magic_bytes));
  }
  const std::uint8_t type = magic[2];
  const std::size_t rank = magic[3];
  if (magic[0] != 0 || magic[1] != 0 || !element_type_name(type) || rank == 0) {
    throw DataError(path.string() + ": not an IDX file (bad magic " +
                    hex32(big_endian32(magic.data())) + ")");
  }
  if (type != kU8) {
    throw DataError(path.string() + ": unsupported element type " + element_type_name(type) + " (" +
                    hex32(big_endian32(magic.data())) +
                    "); only unsigned byte (0x08) is supported");
  }

  std::vector<std::uint8_t> sizes(4 * rank);
  const std::size_t size_bytes = reader.read(sizes.data(), sizes.size());
  if (size_bytes < sizes.size()) {
    throw DataError(path.string() + ": truncated header: expected " +
                    std::to_string(4 + sizes.size()) + " bytes for " + std::to_string(rank) +
                    " dimension(s), found " + std::to_string(4 + size_bytes));
  }

  IdxArray result;
  std::uint64_t expected = 1;
  for (std::size_t d = 0; d < rank; ++d) {
    const std::uint32_t extent = big_endian32(&sizes[4 * d]);
    result.dims.push_back(extent);
    if (extent != 0 && expected > std::numeric_limits<std::int64_t>::max() / extent) {
      throw DataError(path.string() + ": header dimensions too large (more than 2^63 elements)");
    }
    expected *= extent;
  }

  // Grows geometrically as data arrives rather than trusting the header with one big allocation.
  std::size_t found = 0;
  while (found < expected) {
    result.data.resize(std::min<std::uint64_t>(expected, std::max(2 * found, kFirstBuffer)));
    const std::size_t got = reader.read(result.data.data() + found, result.data.size() - found);
    found += got;
    if (found < result.data.size()) break;
  }
  if (found < expected) {
    throw DataError(path.string() + ": truncated data: expected " + std::to_string(expected) +
                    " bytes, found " + std::to_string(found));
  }

  std::size_t extra = 0;
  std::vector<std::uint8_t> scratch(4096);
  for (std::size_t got; (got = reader.read(scratch.data(), scratch.size())) > 0;) extra += got;
  if (extra > 0) {
    throw DataError(path.string() + ": trailing garbage: " + std::to_string(extra) +
                    " byte(s) after the " + std::to_string(expected) +
                    " data bytes the header declares");
  }
  return result;
}

}  // namespace tally::data
