#include "common/msg/fast_map.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/msg/protocol.h"

namespace {

struct Std {
  int32_t a = 0;
  std::string b;
  std::vector<int> c;
  MSGPACK_DEFINE_MAP(a, b, c);
};
struct Fast {
  int32_t a = 0;
  std::string b;
  std::vector<int> c;
  RV_DEFINE_MAP(a, b, c);
};
struct Older {  // a reader that knows fewer fields
  std::string b;
  RV_DEFINE_MAP(b);
};

template <typename T>
std::string Pack(const T& v) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, v);
  return std::string(buf.data(), buf.size());
}
template <typename T>
T Unpack(const std::string& bytes) {
  auto oh = msgpack::unpack(bytes.data(), bytes.size());
  return oh.get().as<T>();
}

TEST(FastMap, SameBytesAsMsgpackDefineMap) {
  Std s{7, "x", {1, 2}};
  Fast f{7, "x", {1, 2}};
  EXPECT_EQ(Pack(s), Pack(f));
  Fast back = Unpack<Fast>(Pack(s));
  EXPECT_EQ(back.a, 7);
  EXPECT_EQ(back.b, "x");
  EXPECT_EQ(back.c, (std::vector<int>{1, 2}));
}

TEST(FastMap, KeysInAnyOrderUnknownSkippedMissingDefault) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(3);
  pk.pack(std::string("c")); pk.pack(std::vector<int>{9});
  pk.pack(std::string("zzz")); pk.pack(std::string("ignored"));
  pk.pack(std::string("a")); pk.pack(3);
  Fast f = Unpack<Fast>(std::string(buf.data(), buf.size()));
  EXPECT_EQ(f.a, 3);
  EXPECT_EQ(f.b, "");
  EXPECT_EQ(f.c, (std::vector<int>{9}));
  Older o = Unpack<Older>(Pack(Fast{1, "kept", {}}));
  EXPECT_EQ(o.b, "kept");
}

TEST(FastMap, RejectsNonMapAndNonStringKeys) {
  EXPECT_THROW(Unpack<Fast>(Pack(std::vector<int>{1, 2})), msgpack::type_error);
  std::map<int, int> bad{{1, 2}};
  EXPECT_THROW(Unpack<Fast>(Pack(bad)), msgpack::type_error);
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(1);
  pk.pack(std::string("a"));
  pk.pack(std::string("not an int"));
  EXPECT_THROW(Unpack<Fast>(std::string(buf.data(), buf.size())), msgpack::type_error);
}

TEST(FastMap, KeyThatIsAPrefixOfAFieldDoesNotMatch) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(1);
  pk.pack(std::string("ram"));
  pk.pack(5);
  auto r = Unpack<rv::msg::Resources>(std::string(buf.data(), buf.size()));
  EXPECT_EQ(r.ram_mb, 0);
}

TEST(FastMap, ObjectConversionRoundTrips) {
  msgpack::zone z;
  Fast f{4, "y", {5}};
  msgpack::object o(f, z);
  Fast back = o.as<Fast>();
  EXPECT_EQ(back.a, 4);
  EXPECT_EQ(back.b, "y");
  EXPECT_EQ(back.c, (std::vector<int>{5}));
}

}  // namespace
