// RV_DEFINE_MAP: a drop-in for msgpack-cxx's MSGPACK_DEFINE_MAP with the same
// wire format (a map from field name to value) and the same tolerance (unknown
// keys are skipped, missing keys keep their defaults), but a decoder that does
// not allocate.
//
// Why: MSGPACK_DEFINE_MAP's decoder copies every key into a std::string and
// builds a std::map<std::string, object*> per struct. An announce of 512 jobs
// has three maps per job, so a simulated pod decoding it on 500 hosts spent
// ~0.7 s in malloc alone (docs/PERFORMANCE.md). Here each key is compared in
// place against the field names (structs have at most a dozen fields, so a
// linear scan beats any index), starting at the field after the last match,
// which is the next key whenever the sender is one of our own encoders.
//
// A key that appears twice keeps the last value, as a std::map would not; both
// are legal readings of a malformed map, and neither can corrupt memory.
#pragma once

#include <msgpack.hpp>

#include <cstring>
#include <string_view>
#include <tuple>
#include <utility>

namespace rv::msg::detail {

template <typename... Args>
class FastMap {
 public:
  static_assert(sizeof...(Args) % 2 == 0, "RV_DEFINE_MAP takes name/value pairs");
  static constexpr size_t kFields = sizeof...(Args) / 2;

  explicit FastMap(Args&... args) : refs_(args...) {}

  template <typename Packer>
  void msgpack_pack(Packer& pk) const {
    pk.pack_map(kFields);
    PackAll(pk, std::make_index_sequence<kFields>{});
  }

  void msgpack_unpack(const msgpack::object& o) const {
    if (o.type != msgpack::type::MAP) throw msgpack::type_error();
    size_t hint = 0;
    for (uint32_t i = 0; i < o.via.map.size; ++i) {
      const msgpack::object_kv& kv = o.via.map.ptr[i];
      if (kv.key.type != msgpack::type::STR) throw msgpack::type_error();
      std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
      for (size_t n = 0; n < kFields; ++n) {
        size_t f = (hint + n) % kFields;
        if (UnpackIfNamed(f, key, kv.val, std::make_index_sequence<kFields>{})) {
          hint = f + 1;
          break;
        }
      }
    }
  }

  void msgpack_object(msgpack::object* o, msgpack::zone& z) const {
    o->type = msgpack::type::MAP;
    o->via.map.ptr = static_cast<msgpack::object_kv*>(
        z.allocate_align(sizeof(msgpack::object_kv) * kFields, MSGPACK_ZONE_ALIGNOF(msgpack::object_kv)));
    o->via.map.size = kFields;
    ObjectAll(o, z, std::make_index_sequence<kFields>{});
  }

 private:
  template <typename Packer, size_t... I>
  void PackAll(Packer& pk, std::index_sequence<I...>) const {
    ((pk.pack(std::get<2 * I>(refs_)), pk.pack(std::get<2 * I + 1>(refs_))), ...);
  }

  template <size_t... I>
  bool UnpackIfNamed(size_t field, std::string_view key, const msgpack::object& val,
                     std::index_sequence<I...>) const {
    bool hit = false;
    ((field == I && !hit && (hit = UnpackField<I>(key, val))), ...);
    return hit;
  }

  template <size_t I>
  bool UnpackField(std::string_view key, const msgpack::object& val) const {
    if (key != std::string_view(std::get<2 * I>(refs_))) return false;
    val.convert(std::get<2 * I + 1>(refs_));
    return true;
  }

  template <size_t... I>
  void ObjectAll(msgpack::object* o, msgpack::zone& z, std::index_sequence<I...>) const {
    ((o->via.map.ptr[I].key = msgpack::object(std::get<2 * I>(refs_), z),
      o->via.map.ptr[I].val = msgpack::object(std::get<2 * I + 1>(refs_), z)),
     ...);
  }

  std::tuple<Args&...> refs_;
};

template <typename... Args>
FastMap<Args...> MakeFastMap(Args&... args) {
  return FastMap<Args...>(args...);
}

}  // namespace rv::msg::detail

// Same arguments as MSGPACK_DEFINE_MAP (field names; the key is the name).
#define RV_DEFINE_MAP(...)                                                                   \
  template <typename Packer>                                                                 \
  void msgpack_pack(Packer& msgpack_pk) const {                                              \
    ::rv::msg::detail::MakeFastMap MSGPACK_DEFINE_MAP_IMPL(__VA_ARGS__).msgpack_pack(msgpack_pk); \
  }                                                                                          \
  void msgpack_unpack(msgpack::object const& msgpack_o) {                                    \
    ::rv::msg::detail::MakeFastMap MSGPACK_DEFINE_MAP_IMPL(__VA_ARGS__).msgpack_unpack(msgpack_o); \
  }                                                                                          \
  template <typename MSGPACK_OBJECT>                                                         \
  void msgpack_object(MSGPACK_OBJECT* msgpack_o, msgpack::zone& msgpack_z) const {           \
    ::rv::msg::detail::MakeFastMap MSGPACK_DEFINE_MAP_IMPL(__VA_ARGS__).msgpack_object(msgpack_o, msgpack_z); \
  }
