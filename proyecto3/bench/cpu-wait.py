#!/usr/bin/env python3
"""Measures, per process, the CPU used and the time spent waiting for a core, while a benchmark runs.

    python3 cpu-wait.py --seconds 30 --state /tmp/tweets-local

Everything of the local system shares this machine's 2 cores, so a request's latency holds, at
every hop (load generator, gateway, writers, brokers), the time its threads waited on the run
queue for a core. The kernel counts both per thread (/proc/<pid>/task/<tid>/schedstat: time on
a CPU, time runnable but waiting); this sums them per process over SECONDS and prints one line
per process using more than 0.5 % of a core: its CPU in cores, its threads' waiting in
thread-seconds per second, and that wait per second of CPU (how much longer than its own work a
process's work takes to get done, on average). Processes are named after the PID files under
STATE (services/gateway.pid is "gateway", valkey/primary.pid "valkey-primary"), others by
command name. A thread started during the window counts from its start; one that ended during
it is missing (with its process), so measure inside the load generator's run (--delay).
"""
import argparse
import os
import sys
import time


def pid_names(state):
    """PID -> name, from every <name>.pid under state."""
    names = {}
    for dirpath, _, files in os.walk(state):
        for f in files:
            if not f.endswith(".pid"):
                continue
            name, parent = f[:-4], os.path.basename(dirpath)
            if parent not in ("services", name):
                name = f"{parent}-{name}"
            try:
                with open(os.path.join(dirpath, f)) as fh:
                    pid = int(fh.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            if pid not in names or len(name) < len(names[pid]):  # primary.pid over primary.server.pid
                names[pid] = name
    return names


def snapshot():
    """(PID, TID) -> (ns on a CPU, ns waiting for one) of every thread."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            tids = os.listdir(f"/proc/{entry}/task")
        except OSError:
            continue  # gone meanwhile
        for tid in tids:
            try:
                with open(f"/proc/{entry}/task/{tid}/schedstat") as f:
                    run, wait, _ = f.read().split()
            except (OSError, ValueError):
                continue  # a thread that ended meanwhile
            out[int(entry), int(tid)] = (int(run), int(wait))
    return out


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return str(pid)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, required=True, help="how long to measure")
    ap.add_argument("--delay", type=float, default=0, help="seconds to wait before measuring (so that a "
                    "load generator started at the same time is running for the whole window)")
    ap.add_argument("--state", default="/tmp/tweets-local", help="the local system's state dir (PID files)")
    args = ap.parse_args()
    if args.seconds <= 0 or args.delay < 0:
        ap.error("--seconds must be positive and --delay not negative")
    time.sleep(args.delay)
    before, t0 = snapshot(), time.monotonic()
    time.sleep(args.seconds)
    after, dt = snapshot(), time.monotonic() - t0
    names = pid_names(args.state)
    per_pid = {}
    for key, (run, wait) in after.items():
        run0, wait0 = before.get(key, (0, 0))  # a thread started in the window counts from 0
        r, w = per_pid.get(key[0], (0, 0))
        per_pid[key[0]] = (r + run - run0, w + wait - wait0)
    rows = []
    for pid, (run, wait) in per_pid.items():
        cores, waiting = run / 1e9 / dt, wait / 1e9 / dt
        if cores > 0.005:
            rows.append((cores, waiting, names.get(pid) or comm(pid)))
    rows.sort(reverse=True)
    total_cpu, total_wait = sum(r[0] for r in rows), sum(r[1] for r in rows)
    print(f"CPU and run-queue wait per process over {dt:.0f} s: {total_cpu:.2f} of {os.cpu_count()} cores busy, "
          f"threads waiting for a core {total_wait:.2f} s per s ({total_wait / max(total_cpu, 1e-9):.2f} s per CPU-s)")
    for cores, waiting, name in rows:
        print(f"  {name:20s} {cores:6.3f} cores  waited {waiting:6.3f} s/s  ({waiting / cores:5.2f} s per CPU-s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
