"""Print how many requests Locust saw accepted (HTTP 202 with a valid body): the Aggregated row
of a Locust stats CSV, requests minus failures. Used to compare with Valkey's tweet count.

    python3 proyecto3/locust/accepted.py <prefix>_stats.csv
"""

import csv
import sys


def accepted(path: str) -> int:
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row.get("Name") == "Aggregated":
                return int(row["Request Count"]) - int(row["Failure Count"])
    raise SystemExit(f"{path}: no Aggregated row (did Locust run?)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(accepted(sys.argv[1]))
