#include "cli/table.h"

#include <gtest/gtest.h>

#include <sstream>

namespace rv::cli {
namespace {

TEST(Table, AlignsColumns) {
  Table t({"HOST", "STATE"});
  t.Add({"h1", "up"});
  t.Add({"host-long", "lost"});
  std::ostringstream out;
  t.Print(out);
  EXPECT_EQ(out.str(), "HOST       STATE\nh1         up\nhost-long  lost\n");
  EXPECT_EQ(t.size(), 2u);
}

// A cell holds what a daemon was told: no control byte reaches the terminal,
// and a newline cannot start a row of its own.
TEST(Table, ControlBytesInACellBecomeQuestionMarksAndUtf8Stays) {
  Table t({"HOST", "LABELS"});
  t.Add({"h1", "zone=\x1b]0;owned\x07\nfake-row \xc2\x9b" "2J caf\xc3\xa9"});
  std::ostringstream out;
  t.Print(out);
  EXPECT_EQ(out.str(), "HOST  LABELS\nh1    zone=?]0;owned??fake-row ?2J caf\xc3\xa9\n");
}

}  // namespace
}  // namespace rv::cli
