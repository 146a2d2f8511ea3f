// Runs the fuzz target over the checked-in corpus plus random and mutated
// inputs, so the decoder's invariants are checked in every plain build.
#include <dirent.h>
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "overlay/header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

TEST(HeaderFuzzCorpus, CorpusAndMutations) {
  std::vector<std::string> inputs;
  if (DIR* d = opendir(RV_OVERLAY_CORPUS)) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream f(std::string(RV_OVERLAY_CORPUS) + "/" + e->d_name, std::ios::binary);
      inputs.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
    closedir(d);
  }
  EXPECT_GE(inputs.size(), 3u);
  std::mt19937 rng(42);
  size_t base = inputs.size();
  for (size_t i = 0; i < base; i++) {
    for (int m = 0; m < 2000; m++) {
      std::string s = inputs[i];
      int edits = 1 + int(rng() % 4);
      for (int k = 0; k < edits && !s.empty(); k++) {
        switch (rng() % 3) {
          case 0: s[rng() % s.size()] = char(rng()); break;
          case 1: s.resize(rng() % (s.size() + 1)); break;
          case 2: s.append(rng() % 64, char(rng())); break;
        }
      }
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(inputs[i].data()), inputs[i].size());
  }
  for (int m = 0; m < 20000; m++) {
    std::string s(rng() % 200, '\0');
    for (auto& c : s) c = char(rng());
    if (!s.empty() && rng() % 2) s[0] = 1;
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
}
