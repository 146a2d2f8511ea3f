#!/usr/bin/env python3
"""ws_echo.py ADDR PORT NAME CAFILE [--proxy-header] [--hold=FILE]

A WebSocket client as far as the proxies can tell: TLS to ADDR:PORT with SNI
NAME (verified against CAFILE, TLS 1.2+), an HTTP/1.1 Upgrade request, a
101 answer expected, then three lines sent on the upgraded connection, each
expected back (the test's server echoes raw bytes, so what is checked is that
the proxies switched to a tunnel and pass bytes both ways). --proxy-header
sends a PROXY v1 line first (straight to an env proxy's ingress, as the edge
would). --hold=FILE: after the first echo, print "holding", wait (up to 120 s)
until FILE exists, then send the other two on the same connection (a test
does something to the pod meanwhile). Exit 0 and one line on success; 1 and
the reason otherwise.
"""
import os
import socket
import ssl
import sys
import time


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 4:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    addr, port, name, ca = args[0], int(args[1]), args[2], args[3]
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])  # an Upgrade is an HTTP/1.1 thing
    with socket.create_connection((addr, port), timeout=150 if any(a.startswith("--hold=") for a in sys.argv) else 5) as raw:
        if "--proxy-header" in sys.argv:
            raw.sendall(b"PROXY TCP4 192.0.2.7 %s 40000 %d\r\n" % (addr.encode(), port))
        with ctx.wrap_socket(raw, server_hostname=name) as s:
            s.sendall(("GET /socket HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" % name).encode())
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    print("closed before the response head: %r" % buf[:200], file=sys.stderr)
                    return 1
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            status = head.split(b"\r\n", 1)[0]
            if b" 101 " not in status + b" ":
                print("want 101, got %r" % status, file=sys.stderr)
                return 1
            hold = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--hold=")]
            for i in range(3):
                if i == 1 and hold:
                    print("holding", flush=True)
                    end = time.time() + 120
                    while not os.path.exists(hold[0]) and time.time() < end:
                        time.sleep(0.1)
                    if not os.path.exists(hold[0]):
                        print("%s never appeared" % hold[0], file=sys.stderr)
                        return 1
                line = b"ws-%d-%d\n" % (os.getpid(), i)
                s.sendall(line)
                while line not in buf:
                    chunk = s.recv(4096)
                    if not chunk:
                        print("closed before echo %d: %r" % (i, buf[-200:]), file=sys.stderr)
                        return 1
                    buf += chunk
            print("websocket upgrade: %s, 3 lines echoed through the tunnel" % status.decode(errors="replace"))
            return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, ssl.SSLError) as e:
        print("ws_echo: %s" % e, file=sys.stderr)
        sys.exit(1)
