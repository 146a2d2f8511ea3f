#!/usr/bin/env python3
"""CPU used per kind of process between two snapshots of /proc (bench/ingress.sh).

  cpu_by_process.py snap OUT.json          every process's user+system ticks,
                                           children's included (busybox httpd
                                           forks one child per connection)
  cpu_by_process.py diff A.json B.json S   cores used per kind over S seconds

A kind comes from the command line: the edge's HAProxy (its config under the
pod's edge dir), an env proxy's HAProxy (/run/proxy), strider (with its ingress
relay threads), overlayd, busybox httpd, nginx, wrk, sauron, the rest "other".
Read-only; a process that came and went between the snapshots is not seen.
"""
import json
import os
import sys


def kind(cmd):
    c = " ".join(cmd)
    exe = os.path.basename(cmd[0]) if cmd else ""
    if "haproxy" in exe:
        return "proxy haproxy" if "/run/proxy" in c else "edge haproxy" if "/edge" in c else "haproxy (other)"
    if exe.startswith("nginx") or c.startswith("nginx:"):
        return "nginx"
    for k in ("strider", "overlayd", "wrk", "sauron", "elrond", "rv-edge"):
        if exe == k:
            return k
    if "httpd" in c:
        return "busybox httpd"
    return "other"


def snap(out):
    tick = os.sysconf("SC_CLK_TCK")
    procs = {"uptime": float(open("/proc/uptime").read().split()[0])}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            stat = open(f"/proc/{p}/stat").read()
            cmd = [a for a in open(f"/proc/{p}/cmdline", "rb").read().decode(errors="replace").split("\0") if a]
        except OSError:
            continue
        f = stat[stat.rfind(")") + 2:].split()
        ticks = sum(int(x) for x in f[11:15])  # utime stime cutime cstime
        procs[p] = [kind(cmd), ticks / tick, int(f[19]) / tick]  # starttime, s since boot
    json.dump(procs, open(out, "w"))


def diff(a, b, secs):
    a, b = json.load(open(a)), json.load(open(b))
    a_at = a.pop("uptime")
    b.pop("uptime")
    used = {}
    for pid, (k, t, start) in b.items():
        if pid in a and a[pid][2] == start:
            t0 = a[pid][1]  # the same process (a kind may change across exec)
        elif start >= a_at:
            t0 = 0.0  # started between the snapshots: all of it is in the window
        else:
            continue  # older than the first snapshot but not in it (unreadable then): unknown
        used[k] = used.get(k, 0.0) + max(0.0, t - t0)
    json.dump({k: round(v / float(secs), 3) for k, v in sorted(used.items(), key=lambda x: -x[1])}, sys.stdout)
    print()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "snap":
        snap(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "diff":
        diff(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
