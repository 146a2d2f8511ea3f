#include "cli/table.h"

#include <algorithm>

namespace rv::cli {
namespace {

// A cell may hold what a daemon was told (a label, a container's exit
// reason): C0 and C1 controls and DEL become '?', so no cell can move the
// cursor, send an escape sequence or break its row. UTF-8 text stays.
std::string Cell(const std::string& s) {
  std::string out = s;
  for (size_t i = 0; i < out.size(); ++i) {
    unsigned char c = out[i];
    if (c < 0x20 || c == 0x7f) {
      out[i] = '?';
    } else if (c == 0xc2 && i + 1 < out.size() && static_cast<unsigned char>(out[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(out[i + 1]) <= 0x9f) {
      out.replace(i, 2, "?");  // U+0080..U+009F
    }
  }
  return out;
}

}  // namespace

void Table::Print(std::ostream& out) const {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : rows_) {
    rows.emplace_back();
    for (const auto& c : r) rows.back().push_back(Cell(c));
  }
  std::vector<size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
}

}  // namespace rv::cli
