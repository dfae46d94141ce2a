#!/usr/bin/env python3
"""python-fleet 0.1.3 side of scripts/compare-python-fleet.sh.

Runs the same workloads as `cargo run --release --example workload`:

  list    list every unit in the cluster, ROUNDS times (python-fleet follows nextPageToken)
  create  create COUNT units named <prefix>-NNNNN.service (PUT, then GET as create_unit does)

and prints one JSON object per workload with the client's own CPU time (user + system, from
getrusage(RUSAGE_SELF), so the fleet-testserver process is not counted).
"""
import argparse
import json
import resource
import sys
import time

import fleet.v1 as fleet

UNIT_TEXT = "[Unit]\nDescription=compare {n}\n\n[Service]\nExecStart=/usr/bin/sleep 1d\n"


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(name, fn):
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    count = fn()
    cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    print(json.dumps({"client": "python-fleet", "workload": name, "items": count,
                      "cpu_s": round(cpu, 6), "wall_s": round(wall, 6)}))
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--workload", choices=["list", "list-options", "create"], required=True)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--prefix", default="py")
    args = ap.parse_args()

    client = fleet.Client(args.endpoint)

    if args.workload == "list":
        def run():
            n = 0
            for _ in range(args.rounds):
                for _unit in client.list_units():
                    n += 1
            return n
        measure("list", run)
    elif args.workload == "list-options":
        # The same listing, reading every option's value of every unit.
        def run():
            n = 0
            for _ in range(args.rounds):
                for unit in client.list_units():
                    for option in unit.options:
                        option["value"]
                        n += 1
            return n
        measure("list-options", run)
    else:
        def run():
            for i in range(args.count):
                unit = fleet.Unit(from_string=UNIT_TEXT.format(n=i), desired_state="inactive")
                client.create_unit("{0}-{1:05d}.service".format(args.prefix, i), unit)
            return args.count
        measure("create", run)


if __name__ == "__main__":
    main()
