#include "ops/conv_algorithm_table.h"

#include <charconv>
#include <fstream>
#include <istream>
#include <ostream>

#include "allocator/csv_line.h"
#include "allocator/error.h"
#include "core/dtype.h"

namespace tally::ops {
namespace {

constexpr std::size_t kFields = 12;

void write_shape(std::ostream& out, const Shape& shape) {
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? "x" : "") << shape[i];
}

constexpr std::string_view kErrorCode = "bad_conv_algorithms";

// Convolution operands are 4-d with no empty dimension.
Shape shape(const CsvLine& p, std::string_view column, std::string_view text) {
  Shape shape;
  for (std::size_t start = 0;;) {
    const std::size_t x = text.find('x', start);
    const std::string_view dim = text.substr(start, x - start);
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(dim.data(), dim.data() + dim.size(), value);
    if (dim.empty() || ec != std::errc() || end != dim.data() + dim.size() || value < 1) {
      p.fail(std::string(column) + ": bad shape '" + std::string(text) +
             "' (expected four positive sizes, e.g. 1x32x28x28)");
    }
    shape.push_back(value);
    if (x == std::string_view::npos) break;
    start = x + 1;
  }
  if (shape.size() != 4) {
    p.fail(std::string(column) + ": bad shape '" + std::string(text) +
           "' (expected four positive sizes, e.g. 1x32x28x28)");
  }
  return shape;
}

ConvPass pass(const CsvLine& p, std::string_view text) {
  const std::optional<ConvPass> pass = parse_conv_pass(text);
  if (!pass) {
    p.fail("pass: unknown value '" + std::string(text) +
           "' (expected forward, backward_data or backward_filter)");
  }
  return *pass;
}

bool boolean(const CsvLine& p, std::string_view column, std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  p.fail(std::string(column) + ": expected true or false, got '" + std::string(text) + "'");
}

}  // namespace

std::optional<ConvPass> parse_conv_pass(std::string_view name) {
  for (const ConvPass pass :
       {ConvPass::forward, ConvPass::backward_data, ConvPass::backward_filter}) {
    if (conv_pass_name(pass) == name) return pass;
  }
  return std::nullopt;
}

void write_conv_algorithms(const std::vector<ConvAlgoRecord>& records, std::ostream& out) {
  out << kConvAlgorithmsVersionLine << '\n' << kConvAlgorithmsHeader << '\n';
  for (const ConvAlgoRecord& r : records) {
    out << conv_pass_name(r.pass) << ',' << r.device << ',' << dtype_name(r.dtype) << ',';
    write_shape(out, r.input);
    out << ',';
    write_shape(out, r.weight);
    out << ',' << r.stride << ',' << r.padding << ',' << (r.tf32 ? "true" : "false") << ','
        << r.workspace_limit << ',' << r.algorithm << ',' << r.math_type << ',' << r.workspace_bytes
        << '\n';
  }
}

void write_conv_algorithms(const std::vector<ConvAlgoRecord>& records, const std::string& path) {
  std::ofstream out(path);
  if (!out) throw DataError("cannot write conv algorithms to '" + path + "'");
  write_conv_algorithms(records, out);
  out.flush();
  if (!out) throw DataError("failed writing conv algorithms to '" + path + "'");
}

std::vector<ConvAlgoRecord> read_conv_algorithms(std::istream& in, std::string_view source) {
  std::vector<ConvAlgoRecord> records;
  std::vector<std::size_t> lines;  // where each record was read, to name a repeated problem
  CsvReader reader(in, source, kErrorCode, "a tally conv algorithm table",
                   kConvAlgorithmsVersionLine, kConvAlgorithmsHeader);
  while (const std::optional<CsvLine> line = reader.next()) {
    const CsvLine& p = *line;
    const std::vector<std::string> f = p.split(reader.text());
    if (f.size() != kFields) {
      p.fail("expected " + std::to_string(kFields) + " fields, found " + std::to_string(f.size()));
    }
    ConvAlgoRecord r;
    r.pass = pass(p, f[0]);
    r.device = p.number("device", f[1], 0);
    r.dtype = p.parse<DType>("dtype", f[2], find_dtype);
    r.input = shape(p, "input", f[3]);
    r.weight = shape(p, "weight", f[4]);
    r.stride = p.number<std::int64_t>("stride", f[5], 1);
    r.padding = p.number<std::int64_t>("padding", f[6], 0);
    r.tf32 = boolean(p, "tf32", f[7]);
    r.workspace_limit = p.number<std::size_t>("workspace_limit", f[8], 0);
    r.algorithm = p.number("algorithm", f[9], 0);
    r.math_type = p.number("math_type", f[10], 0);
    r.workspace_bytes = p.number<std::size_t>("workspace_bytes", f[11], 0);
    if (r.workspace_bytes > r.workspace_limit) {
      p.fail("workspace_bytes is larger than workspace_limit");
    }
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (records[i].same_problem(r)) {
        p.fail("repeats the problem of line " + std::to_string(lines[i]));
      }
    }
    records.push_back(r);
    lines.push_back(p.line());
  }
  return records;
}

std::vector<ConvAlgoRecord> read_conv_algorithms(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw DataError("cannot open conv algorithms '" + path + "'");
  return read_conv_algorithms(in, path);
}

}  // namespace tally::ops
