#!/usr/bin/env python3
"""Runs tally_allocator_bench and tally_record_step_bench and reports their medians against the
allocator's targets.

Usage: allocator_targets.py [BENCH] [--step-bench STEP_BENCH] [--repetitions N]
                            [--step-repetitions N]

From BENCH (tally_allocator_bench, every registered strategy), the median CPU nanoseconds per
allocate+deallocate pair for every case with the spread of the repetitions, then three tables,
each row with its target and PASS or MISS:

  bookkeeping scaling  the pair at 10^2, 10^4 and 10^6 live blocks, recording off, and the ratio
                       10^6 / 10^2 (target for caching and expandable: <= 1.5x; the other
                       strategies are shown without one); beside it the caching pair at 10^4 live
                       blocks against its own target
  recording cost       the pair with recording on less the pair with it off at 10^4 live blocks,
                       from the same run (target <= 20 ns; direct records four events a pair,
                       the others two)
  recording on a step  one training step of mlp, cnn and gpt-tiny on the CPU with recording on
                       and off, from STEP_BENCH (tally_record_step_bench, default: beside BENCH),
                       whose cases take turns (random interleaving), as a percentage of the step
                       (target <= 2%); beside it the events one step records and the percentage
                       they would cost at the recording cost measured above

CPU time rather than real time: the loops never block, so the two differ only by the time the
thread was not running, which on a shared or virtual machine is noise from other work. Missed
targets are reported, not failed on: the exit status is non-zero only when a benchmark could not
be run or read.
"""

import argparse
import json
import os
import subprocess
import sys

BACKINGS = ("virtual", "host")
LIVE = (100, 10_000, 1_000_000)
RECORD_LIVE = 10_000

PAIR_LIMIT_NS = 100.0
GROWTH_LIMIT = 1.5
GROWTH_STRATEGIES = ("caching", "expandable")
RECORD_LIMIT_NS = 20.0
STEP_LIMIT_PERCENT = 2.0


def fields_of(name, prefix, positional):
    """BM_Pair/caching/virtual/live:10000/record:0 -> (["caching", "virtual"], {"live": ...}).

    Fields after the positional ones are key:value pairs, so suffixes that Google Benchmark adds
    (min_time:, repeats:) are ignored rather than misread.
    """
    parts = name.split("/")
    if len(parts) <= positional or parts[0] != prefix:
        return None
    return parts[1:positional + 1], dict(p.split(":", 1) for p in parts[positional + 1:]
                                         if ":" in p)


def pair_case(name):
    """BM_Pair/caching/virtual/live:10000/record:0 -> ("caching", "virtual", 10000, False)."""
    parsed = fields_of(name, "BM_Pair", 2)
    if parsed is None or "live" not in parsed[1] or "record" not in parsed[1]:
        return None
    (strategy, backing), fields = parsed
    return strategy, backing, int(fields["live"]), fields["record"] == "1"


def step_case(name):
    """BM_Step/mlp/batch:256/record:1 -> ("mlp", 256, True)."""
    parsed = fields_of(name, "BM_Step", 1)
    if parsed is None or "batch" not in parsed[1] or "record" not in parsed[1]:
        return None
    (model,), fields = parsed
    return model, int(fields["batch"]), fields["record"] == "1"


def to_ns(value, unit):
    return value * {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]


class Results:
    """One benchmark run's medians, spreads and counters, by case, in the order first seen."""

    def __init__(self):
        self.medians, self.spreads, self.counters, self.order = {}, {}, {}, []

    def cell(self, case, scale=1.0, digits=1):
        if case not in self.medians:
            return "n/a"
        spread = f" ±{self.spreads[case]:.0%}" if case in self.spreads else ""
        return f"{self.medians[case] / scale:.{digits}f}{spread}"


def run_bench(bench, repetitions, case_of, extra=()):
    command = [
        bench,
        "--benchmark_format=json",
        f"--benchmark_repetitions={repetitions}",
        "--benchmark_report_aggregates_only=true",
        *extra,
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
    results = Results()
    for entry in report.get("benchmarks", []):
        case = case_of(entry.get("run_name", ""))
        kind = (entry.get("run_type"), entry.get("aggregate_name"))
        if case is None:
            continue
        if case not in results.order:
            results.order.append(case)
        if kind == median:
            results.medians[case] = to_ns(entry["cpu_time"], entry.get("time_unit", "ns"))
            if "events" in entry:
                results.counters[case] = entry["events"]
        elif kind == ("aggregate", "cv"):
            results.spreads[case] = entry["cpu_time"]
    if not results.medians:
        sys.exit(f"allocator_targets: no medians in the output of {bench}")
    return results


def strategies_of(pairs):
    seen = []
    for strategy, *_ in pairs.order:
        if strategy not in seen:
            seen.append(strategy)
    return seen


def figure(value, spec, unit=""):
    """`value` formatted by `spec` and followed by `unit`, or n/a for a case not measured."""
    return format(value, spec) + unit if value is not None else "n/a"


def heading(title, header):
    print(title)
    print(header)
    print("-" * len(header))


def verdict(measured, limit):
    if measured is None:
        return "not measured"
    return "PASS" if measured <= limit else "MISS"


def print_pair_table(pairs):
    heading("median CPU ns per allocate+deallocate pair (± coefficient of variation)",
            f"{'strategy':<11} {'backing':<8} {'live':>9} {'record off':>14} {'record on':>14}")
    for strategy in strategies_of(pairs):
        for backing in BACKINGS:
            for live in LIVE:
                off = pairs.cell((strategy, backing, live, False))
                on = pairs.cell((strategy, backing, live, True))
                print(f"{strategy:<11} {backing:<8} {live:>9} {off:>14} {on:>14}")
    print()


def print_scaling(pairs):
    heading(f"bookkeeping scaling: ns per pair, recording off; target 10^6/10^2 <= "
            f"{GROWTH_LIMIT}x for {' and '.join(GROWTH_STRATEGIES)}",
            f"{'strategy':<11} {'backing':<8} {'10^2':>8} {'10^4':>8} {'10^6':>8} "
            f"{'10^6/10^2':>10}  verdict")
    for strategy in strategies_of(pairs):
        for backing in BACKINGS:
            figures = [pairs.medians.get((strategy, backing, live, False)) for live in LIVE]
            shown = [figure(f, ".1f") for f in figures]
            growth = figures[2] / figures[0] if figures[0] and figures[2] else None
            judged = verdict(growth, GROWTH_LIMIT) if strategy in GROWTH_STRATEGIES else "-"
            print(f"{strategy:<11} {backing:<8} {shown[0]:>8} {shown[1]:>8} {shown[2]:>8} "
                  f"{figure(growth, '.2f', 'x'):>10}  {judged}")
    for backing in BACKINGS:
        pair = pairs.medians.get(("caching", backing, RECORD_LIVE, False))
        print(f"caching pair, {backing}, 10^4 live: {figure(pair, '.1f', ' ns')} (target <= "
              f"{PAIR_LIMIT_NS:g} ns) {verdict(pair, PAIR_LIMIT_NS)}")
    print()


def recording_cost(pairs, strategy, backing):
    off = pairs.medians.get((strategy, backing, RECORD_LIVE, False))
    on = pairs.medians.get((strategy, backing, RECORD_LIVE, True))
    return (on - off) if off is not None and on is not None else None


def print_recording(pairs):
    heading(f"recording cost: ns per pair at 10^4 live blocks, same run; target extra <= "
            f"{RECORD_LIMIT_NS:g} ns",
            f"{'strategy':<11} {'backing':<8} {'off':>8} {'on':>8} {'extra':>8}  verdict")
    for strategy in strategies_of(pairs):
        for backing in BACKINGS:
            off, on = (figure(pairs.medians.get((strategy, backing, RECORD_LIVE, record)), ".1f")
                       for record in (False, True))
            extra = recording_cost(pairs, strategy, backing)
            print(f"{strategy:<11} {backing:<8} {off:>8} {on:>8} {figure(extra, '+.1f'):>8}  "
                  f"{verdict(extra, RECORD_LIMIT_NS)}")
    print()


def print_step(steps, pairs):
    # The caching strategy over host memory is what a CPU training step allocates through; a pair
    # records two events.
    per_event = recording_cost(pairs, "caching", "host")
    per_event = per_event / 2 if per_event is not None else None
    heading(f"recording on a training step (cpu, 1 thread): ms per step, cases interleaved; "
            f"target <= {STEP_LIMIT_PERCENT:g}%",
            f"{'model':<10} {'batch':>5} {'off ms':>12} {'on ms':>12} {'extra':>8} "
            f"{'events':>7} {'expected':>9}  verdict")
    # Sorted: interleaved cases come out in a random order.
    for model, batch in sorted({(model, batch) for model, batch, _ in steps.order}):
        off = steps.medians.get((model, batch, False))
        on = steps.medians.get((model, batch, True))
        percent = 100.0 * (on - off) / off if off and on is not None else None
        events = steps.counters.get((model, batch, True))
        expected = (100.0 * events * per_event / off
                    if events is not None and per_event is not None and off else None)
        print(f"{model:<10} {batch:>5} {steps.cell((model, batch, False), 1e6, 3):>12} "
              f"{steps.cell((model, batch, True), 1e6, 3):>12} {figure(percent, '+.2f', '%'):>8} "
              f"{figure(events, '.0f'):>7} {figure(expected, '+.3f', '%'):>9}  "
              f"{verdict(percent, STEP_LIMIT_PERCENT)}")
    print("expected: the step's events times half the caching/host pair's recording cost, "
          "over the step")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", nargs="?", default="build/bin/tally_allocator_bench")
    parser.add_argument("--step-bench", help="tally_record_step_bench (default: beside BENCH)")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--step-repetitions", type=int, default=10)
    args = parser.parse_args()
    step_bench = args.step_bench or os.path.join(os.path.dirname(args.bench),
                                                 "tally_record_step_bench")
    pairs = run_bench(args.bench, args.repetitions, pair_case)
    steps = run_bench(step_bench, args.step_repetitions, step_case,
                      ("--benchmark_enable_random_interleaving=true",))
    print_pair_table(pairs)
    print_scaling(pairs)
    print_recording(pairs)
    print_step(steps, pairs)


if __name__ == "__main__":
    main()
