#!/usr/bin/env python3
"""Trains mlp and cnn on the CPU in every precision arrangement; prints one table of their memory.

Usage: precision_table.py [TALLY] [--models mlp,cnn] [--optimizer adamw|sgd] [--batch B]
                          [--steps N] [--threads T]

For every model and every arrangement (fp32, amp-fp16, amp-bf16, fp16, bf16) it runs
`TALLY train --dataset synthetic --steps N --precision P --json` in its own process and prints,
at the peak of the training steps (train's `by_tag_at_peak`, not its evaluation's): the bytes
allocated per tag (parameter, gradient, optimizer, activation, cast_cache, temporary), the total
peak allocated, where it happened (phase and module scope), and the time per training step, also
as a ratio against the same model's fp32 run in this invocation. Bytes are MiB (2^20). N is at
least 2: the first step creates the optimizer state near its end, the second holds it throughout.

The step time is train's train_seconds / N, the first step included; with one BLAS thread by
default, so that a 2-core machine's other load disturbs it less. On the CPU, 16-bit matmuls and
convolutions compute in f32 (OpenBLAS has no 16-bit GEMM): ops/matmul.cpp widens each 16-bit
operand to an f32 temporary, so the temporary column and the times here are the CPU's, not a
GPU's, where tensor cores take 16-bit operands directly. The parameter, gradient, optimizer,
activation and cast_cache columns do not depend on the device.

The exit status is non-zero only when a run could not be made or read.
"""

import argparse
import json
import subprocess
import sys

PRECISIONS = ("fp32", "amp-fp16", "amp-bf16", "fp16", "bf16")
TAGS = ("parameter", "gradient", "optimizer", "activation", "cast_cache", "temporary")
MIB = 1 << 20


def run(args, model, precision):
    """One `tally train --json` run; its summary object."""
    command = [
        args.tally, "train", "--model", model, "--dataset", "synthetic", "--steps",
        str(args.steps), "--batch", str(args.batch), "--optimizer", args.optimizer,
        "--threads", str(args.threads), "--precision", precision, "--json"
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()}")
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as error:
        sys.exit(f"{' '.join(command)} printed no JSON summary: {error}")


def row(summary, steps, fp32_ms):
    """The table's cells for one run, the step time against fp32_ms (None for fp32 itself)."""
    by_tag = summary["by_tag_at_peak"]
    ms = summary["train_seconds"] * 1000.0 / steps
    cells = [f"{by_tag[tag]['allocated_bytes'] / MIB:.2f}" for tag in TAGS]
    cells.append(f"{summary['peak_allocated_bytes'] / MIB:.2f}")
    cells.append(f"{summary['peak_phase']} {summary['peak_scope'] or '(top)'}")
    cells.append(f"{ms:.1f}")
    cells.append(f"{ms / (fp32_ms or ms):.2f}x")
    return cells, ms


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tally", nargs="?", default="build/bin/tally")
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--optimizer", default="adamw", choices=("adamw", "sgd"))
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.steps < 2:
        parser.error("--steps must be at least 2, so that a step holds the optimizer state")

    header = ["model", "precision", *TAGS, "peak", "peak at", "ms/step", "vs fp32"]
    print(f"tally train --dataset synthetic --optimizer {args.optimizer} --batch {args.batch} "
          f"--steps {args.steps} --threads {args.threads}; MiB allocated at the training peak")
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for model in args.models.split(","):
        fp32_ms = None
        for precision in PRECISIONS:
            cells, ms = row(run(args, model, precision), args.steps, fp32_ms)
            fp32_ms = fp32_ms or ms
            print("| " + " | ".join([model, precision, *cells]) + " |", flush=True)


if __name__ == "__main__":
    main()
