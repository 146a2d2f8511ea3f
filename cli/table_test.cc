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

}  // namespace
}  // namespace rv::cli
