#!/usr/bin/env python3
"""The gateway's own view of a benchmark run, from two /metrics snapshots (before, after).

    gateway-latency.py BEFORE AFTER

Prints, for POST /tweets and for each writer call, how many requests the run added, the share
that finished within 50 ms (the latency objective at 1000/s) and the bucket bounds of p50 and p99.
The load generator measures from each request's due time, so its numbers also hold its own
scheduling delay; these hold only the time spent inside the gateway.
"""
import re
import sys

LINE = re.compile(r'^(gateway_http_request_seconds|gateway_writer_call_seconds)_bucket\{(.*)\} (\S+)$')


def load(path):
    series = {}
    with open(path) as f:
        for line in f:
            m = LINE.match(line.strip())
            if not m:
                continue
            labels = dict(kv.split('=', 1) for kv in m[2].split(','))
            le = labels.pop('le').strip('"')
            key = (m[1], ','.join(f'{k}={v.strip(chr(34))}' for k, v in sorted(labels.items())))
            series.setdefault(key, {})[float('inf') if le == '+Inf' else float(le)] = float(m[3])
    return series


def main():
    before, after = load(sys.argv[1]), load(sys.argv[2])
    if not after:
        sys.exit('gateway-latency: no gateway histograms in ' + sys.argv[2])
    for key in sorted(after):
        buckets = sorted((le, n - before.get(key, {}).get(le, 0)) for le, n in after[key].items())
        total = buckets[-1][1]
        if total <= 0:
            continue

        def bound(q):
            return next(le for le, n in buckets if n >= q * total)

        within = dict(buckets).get(0.05)
        share = f'{100 * within / total:.2f} % within 50 ms' if within is not None else 'no 50 ms bucket'
        fmt = lambda s: 'inf' if s == float('inf') else f'{s * 1000:g} ms'
        print(f'  gateway-side {key[0]}{{{key[1]}}}: {int(total)} requests, {share}, '
              f'p50 <= {fmt(bound(0.5))}, p99 <= {fmt(bound(0.99))}')


if __name__ == '__main__':
    main()
