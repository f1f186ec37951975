#!/usr/bin/env python3
"""The strategies lab's summary: every reference trace under bench/traces replayed against a set
of allocator configurations with `tally replay --json`, printed as Markdown tables (peak reserved
over the trace's lower bound, segment calls and estimated device cost), with the best
configuration per trace and whether it is within the goal of 1.05x of the lower bound.

    python3 bench/strategy_table.py [--tally build/bin/tally] [--configs "caching; buddy"]
"""
import argparse
import glob
import json
import os
import subprocess
import sys

CONFIGS = ("caching; caching,max_split_size_mb:64; caching,roundup_power2_divisions:4; "
           "expandable; direct; buddy; binning; binning,binning_fallback:expandable; arena; "
           "planner")
GOAL = 1.05


def replay(tally, traces, configs):
    result = subprocess.run([tally, "replay", *traces, "--configs", configs, "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"strategy_table: tally replay exited {result.returncode}: "
                 f"{result.stderr.strip()}")
    return json.loads(result.stdout)


def cell(row):
    if "error" in row:
        return "out of memory"
    return f"{row['reserved_over_bound']:.3f}"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tally", default=os.path.join(here, "..", "build", "bin", "tally"))
    parser.add_argument("--configs", default=CONFIGS)
    parser.add_argument("--traces", default=os.path.join(here, "traces", "*.csv"))
    args = parser.parse_args()
    traces = sorted(glob.glob(args.traces))
    if not traces:
        sys.exit(f"strategy_table: no traces match {args.traces}")
    tables = replay(args.tally, traces, args.configs)
    names = [row["config"] for row in tables[0]["rows"]]

    print("Peak reserved over the lower bound (the most requested bytes live at once):\n")
    print("| trace | lower bound | " + " | ".join(names) + " | best | best that caches |")
    print("|---|---:|" + "---:|" * len(names) + "---|---|")
    misses = {"best": 0, "best that caches": 0}
    for path, table in zip(traces, tables):
        rows = [r for r in table["rows"] if "error" not in r and r["config"] != "planner"]
        # direct reserves exactly what is live, at the price of a device call per block.
        caching = [r for r in rows if r["strategy"] != "direct"]
        bests = []
        for kind, candidates in (("best", rows), ("best that caches", caching)):
            best = min(candidates, key=lambda r: r["reserved_over_bound"])
            ok = best["reserved_over_bound"] <= GOAL
            misses[kind] += not ok
            bests.append(f"{best['config']} {best['reserved_over_bound']:.3f}"
                         + ("" if ok else " (above 1.05)"))
        print(f"| {os.path.basename(path)[:-4]} | {table['lower_bound_bytes'] / 2**20:.2f} MiB | "
              + " | ".join(cell(r) for r in table["rows"]) + " | " + " | ".join(bests) + " |")

    print("\nSegment calls (obtained + returned) and estimated device cost in ms:\n")
    print("| trace | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for path, table in zip(traces, tables):
        cells = []
        for r in table["rows"]:
            if "error" in r:
                cells.append("-")
            else:
                calls = r["segment_allocs"] + r["segment_frees"]
                cells.append(f"{calls} / {r['device_cost_us'] / 1000:.1f}")
        print(f"| {os.path.basename(path)[:-4]} | " + " | ".join(cells) + " |")
    for kind, missed in misses.items():
        print(f"\n{kind}: {len(traces) - missed} of {len(traces)} traces within {GOAL}x of the "
              "lower bound")


if __name__ == "__main__":
    main()
