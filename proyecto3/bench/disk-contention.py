#!/usr/bin/env python3
"""Do other processes' writes slow an fsync on this disk?

    disk-contention.py [--mbps 7] [--windows 8] [--dir /tmp/tweets-local]

RabbitMQ's quorum queue confirms a message after an fdatasync of its write-ahead log, so the
fsync's tail is the tail of every RabbitMQ publish. On ext4 (data=ordered) an fsync commits
the journal, and a commit can have to write out other files' newly allocated data first: if
that mattered here, Kafka's and Valkey's appends would stretch RabbitMQ's fsyncs. This probe
appends 4 KiB + fdatasync every 20 ms (like bench/disk-probe.py) for WINDOWS windows of 10 s,
while, in every second window, another thread appends MBPS MB/s to a second file without
syncing it. It prints each window and then the fsync latency with and without the appender.
Run it with nothing else writing (after local/down.sh) to see the disk alone.
"""
import argparse
import importlib.util
import os
import threading
import time

# The percentile of bench/disk-probe.py, so that both probes report the same way.
_spec = importlib.util.spec_from_file_location('disk_probe', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'disk-probe.py'))
_probe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_probe)
percentile = _probe.percentile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mbps', type=float, default=7.0, help='MB/s the appender writes (the pipeline at 1000/s: ~7-8)')
    ap.add_argument('--windows', type=int, default=8, help='10 s windows, alternately without and with the appender')
    ap.add_argument('--dir', default=os.environ.get('TWEETS_STATE', '/tmp/tweets-local'))
    a = ap.parse_args()
    d = os.path.join(a.dir, 'disk-contention')
    os.makedirs(d, exist_ok=True)
    bulk, probe = os.path.join(d, 'bulk'), os.path.join(d, 'probe')
    state = {'on': False, 'stop': False}

    def appender():
        chunk = os.urandom(65536)
        period = len(chunk) / (a.mbps * 1e6)
        with open(bulk, 'ab', buffering=0) as f:
            nxt = time.time()
            while not state['stop']:
                if state['on']:
                    f.write(chunk)
                    if f.tell() > 2e9:
                        f.truncate(0)
                        f.seek(0)
                nxt += period
                time.sleep(max(0.0, nxt - time.time()))

    threading.Thread(target=appender, daemon=True).start()
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    buf = os.urandom(4096)
    res = {False: [], True: []}
    try:
        for w in range(a.windows):
            state['on'] = w % 2 == 1
            end, window = time.time() + 10, []
            while time.time() < end:
                t = time.perf_counter()
                os.write(fd, buf)
                os.fdatasync(fd)
                window.append((time.perf_counter() - t) * 1000)
                time.sleep(0.02)
            res[state['on']].extend(window)
            window.sort()
            print(f'window {w + 1}/{a.windows} appender {"on " if state["on"] else "off"}: '
                  f'p50 {percentile(window, 0.5):.2f} ms  max {percentile(window, 1):.2f} ms', flush=True)
    finally:
        state['stop'] = True
        os.close(fd)
        for p in (bulk, probe):
            if os.path.exists(p):
                os.remove(p)
    for on in (False, True):
        s = sorted(res[on])
        if s:
            print(f'appender {"on " if on else "off"} ({a.mbps:g} MB/s): {len(s)} fsyncs, p50 {percentile(s, 0.5):.2f} ms  '
                  f'p99 {percentile(s, 0.99):.2f} ms  max {percentile(s, 1):.2f} ms')


if __name__ == '__main__':
    main()
