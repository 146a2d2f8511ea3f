// Liveness beacons: the cheapest proof that a host is alive.
//
// Why not heartbeats over ZeroMQ: a CURVE message costs sauron ~30 us (box
// open, syscalls, libzmq's timer scan), so 1000 hosts pinging 5 times a second
// would eat a fifth of a core. A beacon is one 20-byte UDP datagram that sauron
// reads in batches (recvmmsg) every few tens of milliseconds and checks with
// SipHash-2-4: about a microsecond each.
//
// Wire format (little endian): session u32 | counter u64 | tag u64, where
// tag = SipHash-2-4(key, session | counter). The 16-byte key and the session id
// are handed out by sauron in host.welcome, over the CURVE-encrypted channel, so
// only that host can make valid beacons; the counter must grow, so a captured
// beacon cannot be replayed to keep a dead host "alive".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rv::transport {

inline constexpr size_t kBeaconBytes = 20;
inline constexpr size_t kBeaconKeyBytes = 16;

// Writes a beacon into out[kBeaconBytes]. `key` must be kBeaconKeyBytes long.
void EncodeBeacon(uint32_t session, uint64_t counter, const std::string& key, uint8_t* out);
// Reads the session id (to find the key) without checking anything.
bool PeekBeaconSession(const uint8_t* data, size_t size, uint32_t* session);
// Checks the tag under `key`; on success sets *counter.
bool VerifyBeacon(const uint8_t* data, size_t size, const std::string& key, uint64_t* counter);
// The same with the key as kBeaconKeyBytes raw bytes (kept inline by sauron).
bool VerifyBeacon(const uint8_t* data, size_t size, const uint8_t* key, uint64_t* counter);
std::string NewBeaconKey();

}  // namespace rv::transport
