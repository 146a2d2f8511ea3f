// Table: column-aligned text output for the CLI (no borders, two spaces
// between columns, like `docker ps` / `kubectl get`).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace rv::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  size_t size() const { return rows_.size() - 1; }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace rv::cli
