// libFuzzer target: hostile answers of an env proxy's HAProxy master CLI
// (the proxy runs in a tenant's container) through the parsers the strider
// acts on. `show proc` may only yield positive worker PIDs, a current worker
// among them or none, and a reload count of -1 or more; ProxyCliTook must
// decide every answer without crashing.
#include <algorithm>
#include <cstdlib>
#include <string>

#include "strider/proxy_runtime.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string answer(reinterpret_cast<const char*>(data), size);
  auto workers = rv::strider::ProxyWorkerPids(answer);
  for (int64_t pid : workers)
    if (pid <= 0) abort();
  int64_t current = rv::strider::ProxyCurrentWorker(answer);
  if (current != -1 && std::find(workers.begin(), workers.end(), current) == workers.end()) abort();
  if (rv::strider::ProxyMasterReloads(answer) < -1) abort();
  (void)rv::strider::ProxyCliTook(answer);
  return 0;
}
