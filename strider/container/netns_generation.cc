#include "strider/container/netns_generation.h"

namespace rv::container {

bool IsNetnsGeneration(int64_t g) { return g >= 1 && g <= kMaxNetnsGeneration; }

int64_t NextNetnsGeneration(int64_t before, uint64_t seed) {
  if (IsNetnsGeneration(before)) return before % kMaxNetnsGeneration + 1;
  // Unsigned all the way: a seed above INT64_MAX cast to int64_t first gave a
  // negative "generation" (half of all containers).
  return static_cast<int64_t>(seed % static_cast<uint64_t>(kMaxNetnsGeneration)) + 1;
}

}  // namespace rv::container
