// libFuzzer target: hostile layer blobs (tar, gzip, zstd) into a scratch dir.
// The unpacker must fail cleanly or stay inside the dir; a sibling "canary"
// directory must stay empty whatever the layer says.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "strider/container/layer_unpacker.h"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fs::path base = fs::temp_directory_path() / ("rv-fuzz-layer." + std::to_string(getpid()));
  std::error_code ec;
  fs::remove_all(base, ec);
  fs::create_directories(base / "canary");
  {
    std::ofstream f(base / "blob", std::ios::binary);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  rv::container::UnpackOptions opt;
  opt.max_bytes = 1 << 20;
  opt.max_entries = 1000;
  (void)rv::container::UnpackLayer((base / "blob").string(), (base / "out").string(), opt);
  if (!fs::is_empty(base / "canary")) abort();  // something escaped
  fs::remove_all(base, ec);
  return 0;
}
