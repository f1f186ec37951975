#!/usr/bin/env python3
"""DDP on the CPU: training throughput with 1 and N ranks, bucket reduction overlapped with
backward and not; one table, each row also as a ratio against 1 rank of this invocation.

Usage: ddp_scaling.py TALLY [--mpiexec mpiexec] [--ranks 2] [--model mlp] [--batch 64]
                      [--steps 40] [--rounds 3]

Every configuration runs `mpiexec -np R TALLY train --ddp --model M --batch B --steps S
--dataset synthetic --threads 1 --json` (B per rank, one BLAS thread per rank, so that R ranks
use R cores) and reads each rank's samples/s over its training steps (data loading included,
evaluation not); the job's throughput is their sum. With several rounds each configuration keeps
its best: other load only ever takes time away. Open MPI's flags (--allow-run-as-root,
--oversubscribe, --output-filename) are used; the exit status is non-zero only when a run could
not be made or read.
"""

import argparse
import glob
import json
import os
import sys
import tempfile

from run_command import stdout_of


def throughput(args, ranks, overlap):
    """Samples per second of one job: the sum over its ranks."""
    with tempfile.TemporaryDirectory() as out:
        command = [
            args.mpiexec, "--allow-run-as-root", "--oversubscribe", "--output-filename", out,
            "-np", str(ranks), args.tally, "train", "--ddp", "--model", args.model,
            "--batch", str(args.batch), "--steps", str(args.steps), "--dataset", "synthetic",
            "--threads", "1", "--json"
        ] + ([] if overlap else ["--no-overlap"])
        stdout_of(command)
        files = glob.glob(os.path.join(out, "*", "rank.*", "stdout"))
        if len(files) != ranks:
            sys.exit(f"{' '.join(command)}: {len(files)} rank outputs, expected {ranks}")
        return sum(json.load(open(f))["samples_per_s"] for f in files)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tally")
    parser.add_argument("--mpiexec", default="mpiexec")
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--model", default="mlp")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    configs = [(1, True), (args.ranks, True), (args.ranks, False)]
    best = {c: 0.0 for c in configs}
    for _ in range(args.rounds):
        for c in configs:
            best[c] = max(best[c], throughput(args, *c))
    base = best[(1, True)]
    print(f"DDP on the CPU: {args.model}, batch {args.batch} per rank, {args.steps} steps, "
          f"1 BLAS thread per rank, best of {args.rounds}")
    print(f"{'ranks':>5} {'overlap':>8} {'samples/s':>10} {'vs 1 rank':>10}")
    for ranks, overlap in configs:
        print(f"{ranks:>5} {'on' if overlap else 'off':>8} {best[(ranks, overlap)]:>10.0f} "
              f"{best[(ranks, overlap)] / base:>10.2f}")


if __name__ == "__main__":
    main()
