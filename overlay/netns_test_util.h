// Helpers shared by overlay/netns_test.cc and the pod-level overlay test
// (test/integration/overlay_pod_test.cc): shell commands, child processes,
// TCP/UDP echo servers and checks, raw (spoofable) UDP packets, pcap reading.
// Test-only; every function is bounded by its arguments' timeouts.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <sched.h>
#include <string>
#include <thread>
#include <vector>

namespace rv::overlay::nettest {

using Clock = std::chrono::steady_clock;

inline constexpr uint16_t kPort = 7800;

inline int Sh(const std::string& cmd) {
  int rc = system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

inline int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// Waits for a child up to timeout_ms, then kills it. Returns its exit code (-1: killed/crashed).
inline int WaitChild(pid_t pid, int timeout_ms) {
  auto start = Clock::now();
  int st = 0;
  while (true) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (r < 0) return -1;
    if (MsSince(start) > timeout_ms) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

inline uint32_t A(const char* s) { return ntohl(inet_addr(s)); }

inline sockaddr_in Sa(const char* ip, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = inet_addr(ip);
  return sa;
}

// --- network helpers run inside a container's netns (child processes) -----

inline int TcpConnect(const char* ip, uint16_t port, int timeout_ms) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  sockaddr_in sa = Sa(ip, port);
  connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  pollfd p{fd, POLLOUT, 0};
  int err = 0;
  socklen_t el = sizeof(err);
  if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

inline bool WriteAll(int fd, const void* p, size_t n) {
  auto* c = static_cast<const char*>(p);
  while (n) {
    ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    c += w;
    n -= size_t(w);
  }
  return true;
}

inline bool ReadAll(int fd, void* p, size_t n) {
  auto* c = static_cast<char*>(p);
  while (n) {
    ssize_t r = recv(fd, c, n, 0);
    if (r <= 0) return false;
    c += r;
    n -= size_t(r);
  }
  return true;
}

// TCP echo server: echoes every connection (one child per connection).
inline int TcpEchoServer(uint16_t port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in sa = Sa("0.0.0.0", port);
  if (bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) || listen(s, 16)) return 2;
  signal(SIGCHLD, SIG_IGN);
  while (true) {
    int c = accept(s, nullptr, nullptr);
    if (c < 0) continue;
    if (fork() == 0) {
      char buf[65536];
      ssize_t n;
      while ((n = recv(c, buf, sizeof(buf), 0)) > 0)
        if (!WriteAll(c, buf, size_t(n))) break;
      _exit(0);
    }
    close(c);
  }
}

// UDP echo server; also counts datagrams that contain `marker` into `count_file`.
inline int UdpEchoServer(uint16_t port, std::string marker, std::string count_file) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa = Sa("0.0.0.0", port);
  if (bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof(sa))) return 2;
  int count = 0;
  char buf[65536];
  while (true) {
    sockaddr_in from{};
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(s, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 0) continue;
    if (!marker.empty() && std::string(buf, size_t(n)).find(marker) != std::string::npos) {
      count++;
      std::ofstream(count_file + ".tmp") << count;
      rename((count_file + ".tmp").c_str(), count_file.c_str());
    }
    sendto(s, buf, size_t(n), 0, reinterpret_cast<sockaddr*>(&from), fl);
  }
}

// Sends `msg` by UDP and waits for the echo; 0 on success.
inline int UdpPing(const char* ip, uint16_t port, const std::string& msg, int tries, int wait_ms) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa = Sa(ip, port);
  char buf[65536];
  for (int t = 0; t < tries; t++) {
    sendto(s, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    pollfd p{s, POLLIN, 0};
    if (poll(&p, 1, wait_ms) == 1) {
      ssize_t n = recv(s, buf, sizeof(buf), 0);
      if (n == ssize_t(msg.size()) && memcmp(buf, msg.data(), msg.size()) == 0) return 0;
    }
  }
  return 1;
}

// Sends `len` bytes over TCP and checks the echo; 0 on success.
inline int TcpEchoCheck(const char* ip, uint16_t port, const std::string& marker, size_t len) {
  int fd = TcpConnect(ip, port, 2000);
  if (fd < 0) return 1;
  std::string data;
  while (data.size() < len) data += marker + std::to_string(data.size()) + ";";
  data.resize(len);
  std::thread w([&] { WriteAll(fd, data.data(), data.size()); });
  std::string back(len, '\0');
  bool ok = ReadAll(fd, back.data(), len);
  w.join();
  close(fd);
  return ok && back == data ? 0 : 3;
}

inline uint16_t IpChecksum(const uint8_t* p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < n; i += 2) s += uint32_t(p[i]) << 8 | p[i + 1];
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return uint16_t(~s);
}

// IPv4/UDP packet (UDP checksum 0 = none).
inline std::vector<uint8_t> UdpPacket(uint32_t src, uint32_t dst, uint16_t dport, const std::string& payload) {
  std::vector<uint8_t> p(28 + payload.size(), 0);
  p[0] = 0x45;
  uint16_t tot = uint16_t(p.size());
  p[2] = uint8_t(tot >> 8);
  p[3] = uint8_t(tot);
  p[8] = 64;
  p[9] = 17;
  for (int i = 0; i < 4; i++) p[12 + i] = uint8_t(src >> (24 - 8 * i)), p[16 + i] = uint8_t(dst >> (24 - 8 * i));
  uint16_t c = IpChecksum(p.data(), 20);
  p[10] = uint8_t(c >> 8);
  p[11] = uint8_t(c);
  p[20] = 0x30;
  p[21] = 0x39;
  p[22] = uint8_t(dport >> 8);
  p[23] = uint8_t(dport);
  uint16_t ul = uint16_t(8 + payload.size());
  p[24] = uint8_t(ul >> 8);
  p[25] = uint8_t(ul);
  memcpy(p.data() + 28, payload.data(), payload.size());
  return p;
}

// Raw IP_HDRINCL send with an arbitrary (spoofed) source.
inline int RawSend(const std::vector<uint8_t>& pkt, const char* dst) {
  int s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (s < 0) return 2;
  sockaddr_in sa = Sa(dst, 0);
  for (int i = 0; i < 5; i++)
    sendto(s, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  close(s);
  return 0;
}

// pcap reader: returns the Ethernet frames of a capture file.
inline std::vector<std::string> ReadPcap(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::string> frames;
  size_t off = 24;
  while (off + 16 <= all.size()) {
    uint32_t incl;
    memcpy(&incl, all.data() + off + 8, 4);
    off += 16;
    if (off + incl > all.size()) break;
    frames.push_back(all.substr(off, incl));
    off += incl;
  }
  return frames;
}

// Runs fn in a child process inside the netns at `path` ("/run/netns/NAME").
inline pid_t SpawnInNetns(const std::string& path, std::function<int()> fn) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) _exit(99);
    _exit(fn());
  }
  return pid;
}

// A continuous TCP echo stream to ip:port for `ms`: 16 KB out, the same 16 KB
// back, again; the running byte count goes to `progress`. 0 if the connection
// never broke and every echo was intact.
inline int StreamEcho(const char* ip, uint16_t port, int64_t ms, const std::string& progress) {
  int fd = TcpConnect(ip, port, 2000);
  if (fd < 0) return 10;
  std::string chunk(16384, 'r');
  std::string back(chunk.size(), '\0');
  auto start = Clock::now();
  uint64_t total = 0;
  while (MsSince(start) < ms) {
    if (!WriteAll(fd, chunk.data(), chunk.size())) return 11;
    if (!ReadAll(fd, back.data(), back.size()) || back != chunk) return 12;
    total += chunk.size();
    std::ofstream(progress) << total;
  }
  close(fd);
  return 0;
}

}  // namespace rv::overlay::nettest
