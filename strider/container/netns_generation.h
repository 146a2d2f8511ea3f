// A container netns's generation (contract): the number the overlay names the
// container's host-side veth after (strider/overlay_driver.cc, "ov<addr><gen>"),
// kept in the container's adopt record so a restarted strider names an adopted
// container's veth exactly as the strider before it did. A name that changed
// would make overlayd detach the container (rule, routes, veth) and attach it
// again: a window of "Network is unreachable" for its peers (docs/SCEPTRE.md).
//
//  * A generation is 1..65535 (the veth name has 4 hex digits for it); any
//    other recorded value is unknown.
//  * The next generation of a container always differs from its previous one,
//    so a re-made netns is never taken for the old, plumbed one.
//  * Pure functions, thread-safe.
#pragma once

#include <cstdint>

namespace rv::container {

inline constexpr int64_t kMaxNetnsGeneration = 65535;

bool IsNetnsGeneration(int64_t g);

// The generation of a container's next netns: `before` + 1 (wrapping within
// 1..65535) when `before` is a generation, else one picked from `seed` (any
// 64 bits, e.g. a hash of the container id mixed with the clock).
int64_t NextNetnsGeneration(int64_t before, uint64_t seed);

}  // namespace rv::container
