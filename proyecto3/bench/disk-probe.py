#!/usr/bin/env python3
"""Measures how long this machine's disk takes to fsync a 4 KiB write, while a benchmark runs.

    python3 disk-probe.py --seconds 30 --dir /tmp/tweets-local

RabbitMQ's quorum queue confirms a message only after its write-ahead log is fsynced, and Valkey
fsyncs its AOF every second, so a disk whose fsync stalls shows up in the gateway's latency tail
no matter what the services do. This probe writes and fsyncs 4 KiB every 50 ms in DIR for
SECONDS and prints one line: the number of samples and the p50/p99/max of the fsync time, and
of how late its 50 ms sleeps woke up (on a saturated CPU a measured fsync also includes the wait
for a core; the wake-up delay tells the two apart). It adds ~80 KiB/s of writes, negligible next
to the pipeline's ~7 MB/s at 1000 tweets/s.
"""
import argparse
import os
import sys
import tempfile
import time


def percentile(sorted_values, p):
    """sorted_values[floor(p*n)] (capped at the last): errs high, never low."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, required=True, help="how long to probe")
    ap.add_argument("--dir", default=tempfile.gettempdir(), help="where to write (the brokers' disk)")
    ap.add_argument("--interval", type=float, default=0.05, help="seconds between fsyncs")
    args = ap.parse_args()
    if args.seconds <= 0 or args.interval <= 0:
        ap.error("--seconds and --interval must be positive")

    block = os.urandom(4096)
    samples, late = [], []
    fd, path = tempfile.mkstemp(prefix="disk-probe-", dir=args.dir)
    try:
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            os.write(fd, block)
            t0 = time.monotonic()
            os.fsync(fd)
            samples.append((time.monotonic() - t0) * 1000)
            if len(samples) % 200 == 0:  # keep the file small
                os.lseek(fd, 0, os.SEEK_SET)
                os.ftruncate(fd, 0)
            t1 = time.monotonic()
            time.sleep(args.interval)
            late.append(max(0.0, time.monotonic() - t1 - args.interval) * 1000)
    finally:
        os.close(fd)
        os.unlink(path)
    samples.sort()
    late.sort()
    print(f"disk fsync (4 KiB, every {args.interval * 1000:.0f} ms): {len(samples)} samples, "
          f"p50 {percentile(samples, 0.5):.2f} ms  p99 {percentile(samples, 0.99):.2f} ms  "
          f"max {percentile(samples, 1):.2f} ms; wake-up delay p99 {percentile(late, 0.99):.2f} ms  "
          f"max {percentile(late, 1):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
