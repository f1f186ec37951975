#!/usr/bin/env python3
"""Runs tally_allocator_bench once and reports its medians against the allocator's targets.

Usage: allocator_targets.py [BENCH] [--repetitions N]

Prints the median CPU nanoseconds per allocate+deallocate pair for every case, with the spread
of the repetitions, then each target as measured / limit with PASS or MISS. CPU time rather than
real time: the loop never blocks, so the two differ only by the time the thread was not running,
which on a shared or virtual machine is noise from other work. Missed targets are reported, not
failed on: the exit status is non-zero only when the benchmark itself could not be run or read.
"""

import argparse
import json
import subprocess
import sys

STRATEGIES = ("caching", "direct")
BACKINGS = ("virtual", "host")
LIVE = (100, 10_000, 1_000_000)

PAIR_LIMIT_NS = 100.0
GROWTH_LIMIT = 1.5
RECORD_LIMIT = 1.10


def parse_name(name):
    """BM_Pair/caching/virtual/live:10000/record:0 -> ("caching", "virtual", 10000, False).

    Fields after the first three are key:value pairs, so suffixes that Google Benchmark adds
    (min_time:, repeats:) are ignored rather than misread.
    """
    parts = name.split("/")
    if len(parts) < 5 or parts[0] != "BM_Pair":
        return None
    fields = dict(p.split(":", 1) for p in parts[3:] if ":" in p)
    if "live" not in fields or "record" not in fields:
        return None
    return parts[1], parts[2], int(fields["live"]), fields["record"] == "1"


def to_ns(value, unit):
    return value * {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]


def run_bench(bench, repetitions):
    command = [
        bench,
        "--benchmark_format=json",
        f"--benchmark_repetitions={repetitions}",
        "--benchmark_report_aggregates_only=true",
    ]
    print("running:", " ".join(command), file=sys.stderr, flush=True)
    try:
        result = subprocess.run(command, stdout=subprocess.PIPE, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        sys.exit(f"allocator_targets: {bench} failed: {error}")
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError as error:
        sys.exit(f"allocator_targets: {bench} did not print JSON: {error}")

    # One repetition yields no aggregates, only the run itself, which is then its own median.
    median = ("aggregate", "median") if repetitions > 1 else ("iteration", None)
    medians, spreads = {}, {}
    for entry in report.get("benchmarks", []):
        case = parse_name(entry.get("run_name", ""))
        kind = (entry.get("run_type"), entry.get("aggregate_name"))
        if case is None:
            continue
        if kind == median:
            medians[case] = to_ns(entry["cpu_time"], entry.get("time_unit", "ns"))
        elif kind == ("aggregate", "cv"):
            spreads[case] = entry["cpu_time"]
    if not medians:
        sys.exit(f"allocator_targets: no BM_Pair medians in the output of {bench}")
    return medians, spreads


def cell(medians, spreads, case):
    if case not in medians:
        return "n/a"
    spread = f" ±{spreads[case]:.0%}" if case in spreads else ""
    return f"{medians[case]:.1f}{spread}"


def print_table(medians, spreads):
    print("median CPU ns per allocate+deallocate pair (± coefficient of variation)")
    header = f"{'strategy':<9} {'backing':<8} {'live':>9} {'record off':>14} {'record on':>14}"
    print(header)
    print("-" * len(header))
    for strategy in STRATEGIES:
        for backing in BACKINGS:
            for live in LIVE:
                off = cell(medians, spreads, (strategy, backing, live, False))
                on = cell(medians, spreads, (strategy, backing, live, True))
                print(f"{strategy:<9} {backing:<8} {live:>9} {off:>14} {on:>14}")
    print()


def targets(medians):
    """(description, measured, limit, unit) for every target."""
    rows = []
    for backing in BACKINGS:
        pair = medians.get(("caching", backing, 10_000, False))
        rows.append((f"caching pair, {backing}, 10^4 live", pair, PAIR_LIMIT_NS, "ns"))
    for backing in BACKINGS:
        small = medians.get(("caching", backing, 100, False))
        large = medians.get(("caching", backing, 1_000_000, False))
        growth = large / small if small and large else None
        rows.append((f"caching growth 10^2->10^6 live, {backing}", growth, GROWTH_LIMIT, "x"))
    for backing in BACKINGS:
        off = medians.get(("caching", backing, 10_000, False))
        on = medians.get(("caching", backing, 10_000, True))
        overhead = on / off if off and on else None
        description = f"caching recording on/off, {backing}, 10^4 live"
        rows.append((description, overhead, RECORD_LIMIT, "x"))
    return rows


def print_targets(rows):
    print("targets (ratio = measured / limit; PASS when <= 1)")
    width = max(len(r[0]) for r in rows)
    for description, measured, limit, unit in rows:
        if measured is None:
            print(f"{description:<{width}}  {'n/a':>8}  <= {limit:g} {unit:<2}  not measured")
            continue
        ratio = measured / limit
        verdict = "PASS" if ratio <= 1.0 else "MISS"
        shown = f"{measured:.1f}" if unit == "ns" else f"{measured:.2f}"
        print(f"{description:<{width}}  {shown:>8}  <= {limit:g} {unit:<2}  ratio {ratio:5.2f}  "
              f"{verdict}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", nargs="?", default="build/bin/tally_allocator_bench")
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    medians, spreads = run_bench(args.bench, args.repetitions)
    print_table(medians, spreads)
    print_targets(targets(medians))


if __name__ == "__main__":
    main()
