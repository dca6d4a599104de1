#!/usr/bin/env python3
"""Counts how many of a run's slow requests fell in the machine's own slow windows.

    python3 vm-attribution.py --trace load.csv --windows vm-windows.csv [--over-ms 50] [--after-ms 150]

TRACE is the load generator's --trace (due_unix_ms,late_ms,latency_ms,status), WINDOWS the slow
windows found by vmprobe --windows (start_unix_ms,end_unix_ms): spans in which a fixed
computation at the highest priority ran at least twice as slow as usual, i.e. the machine itself
got less CPU. A request is counted in a window when it was due between the window's start and
AFTER_MS after its end (the backlog a stall leaves takes that long to clear at 1000/s). The line
printed compares the share of slow requests (over OVER_MS) that were due in such a span with
the share of the run those spans cover: if the windows had nothing to do with the tail, the two
would be about equal. It ends with the p99 of the requests due outside those spans: what the
pipeline did while the machine was not slowed (for reading the run, not instead of its p99).
"""
import argparse
import csv
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trace", required=True, help="the load generator's --trace CSV")
    ap.add_argument("--windows", required=True, help="vmprobe's --windows CSV")
    ap.add_argument("--over-ms", type=float, default=50, help="a request is slow above this latency")
    ap.add_argument("--after-ms", type=float, default=150, help="how long after a window still counts")
    args = ap.parse_args()

    with open(args.trace, newline="") as f:
        reqs = [(float(r["due_unix_ms"]), float(r["latency_ms"])) for r in csv.DictReader(f)]
    with open(args.windows, newline="") as f:
        wins = [(float(r["start_unix_ms"]), float(r["end_unix_ms"]) + args.after_ms) for r in csv.DictReader(f)]
    if not reqs:
        sys.exit("vm-attribution: the trace has no request")
    first, last = reqs[0][0], reqs[-1][0]
    # the part of the run the (extended) windows cover, overlaps merged
    covered, end = 0.0, first
    for a, b in sorted(wins):
        a, b = max(a, end), min(b, last)
        if b > a:
            covered += b - a
            end = b
    share = covered / (last - first) if last > first else 0.0

    def in_window(t):
        return any(a <= t < b for a, b in wins)

    slow = [t for t, lat in reqs if lat > args.over_ms]
    hit = sum(1 for t in slow if in_window(t))
    outside = sorted(lat for t, lat in reqs if not in_window(t))
    p99 = f"{outside[min(len(outside) - 1, int(0.99 * len(outside)))]:.1f} ms" if outside else "none"
    line = f"VM slow windows: {len(wins)}, covering {100 * share:.1f} % of the run with {args.after_ms:.0f} ms after each; "
    if slow:
        line += f"they hold {hit} of the {len(slow)} requests over {args.over_ms:.0f} ms ({100 * hit / len(slow):.1f} %)"
    else:
        line += f"no request over {args.over_ms:.0f} ms"
    print(f"{line}; p99 of the {len(outside)} requests due outside them: {p99}")


if __name__ == "__main__":
    main()
