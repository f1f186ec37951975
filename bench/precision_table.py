#!/usr/bin/env python3
"""Trains mlp and cnn in every precision arrangement; prints one table of their memory and time.

Usage: precision_table.py [TALLY] [--device cpu|cuda] [--models mlp,cnn] [--optimizer adamw|sgd]
                          [--batch B] [--steps N] [--threads T] [--rounds R]

For every model and every arrangement (fp32, amp-fp16, amp-bf16, fp16, bf16) it runs
`TALLY train --dataset synthetic --steps N --precision P --json` on the device (cpu by default;
scripts/gpu_check.sh runs it on cuda) in its own process and prints,
at the peak of the training steps (train's `by_tag_at_peak`, not its evaluation's): the bytes
allocated per tag (parameter, gradient, optimizer, activation, cast_cache, temporary), the total
peak allocated, where it happened (phase and module scope), and the time per training step, also
as a ratio against the same model's fp32 run in this invocation. Bytes are MiB (2^20). N is at
least 2: the first step creates the optimizer state near its end, the second holds it throughout.

The step time is train's train_seconds / N, the first step included; with one BLAS thread by
default, so that a 2-core machine's other load disturbs it less. With R rounds every arrangement
runs R times, the rounds in turn, and keeps its lowest time: other load only ever adds time, so
the least disturbed run is the best estimate of the arrangement's own cost. The memory of every
round must be the same, byte for byte, or the script stops. On the CPU, 16-bit matmuls and
convolutions compute in f32 (OpenBLAS has no 16-bit GEMM): ops/matmul.cpp widens each 16-bit
operand to an f32 temporary, so the temporary column and the times here are the CPU's, not a
GPU's, where tensor cores take 16-bit operands directly. The parameter, gradient, optimizer,
activation and cast_cache columns do not depend on the device.

The exit status is non-zero only when a run could not be made or read.
"""

import argparse
import json
import sys

from run_command import stdout_of

PRECISIONS = ("fp32", "amp-fp16", "amp-bf16", "fp16", "bf16")
TAGS = ("parameter", "gradient", "optimizer", "activation", "cast_cache", "temporary")
MIB = 1 << 20


def run(args, model, precision):
    """One `tally train --json` run; its summary object."""
    command = [
        args.tally, "train", "--model", model, "--dataset", "synthetic", "--steps",
        str(args.steps), "--batch", str(args.batch), "--optimizer", args.optimizer,
        "--threads", str(args.threads), "--precision", precision, "--device", args.device,
        "--json"
    ]
    try:
        return json.loads(stdout_of(command))
    except json.JSONDecodeError as error:
        sys.exit(f"{' '.join(command)} printed no JSON summary: {error}")


def cells(summary, ms, fp32_ms):
    """The table's cells for one arrangement: its memory, and ms against the fp32 run's."""
    by_tag = summary["by_tag_at_peak"]
    out = [f"{by_tag[tag]['allocated_bytes'] / MIB:.2f}" for tag in TAGS]
    out.append(f"{summary['peak_allocated_bytes'] / MIB:.2f}")
    out.append(f"{summary['peak_phase']} {summary['peak_scope'] or '(top)'}")
    out.append(f"{ms:.1f}")
    out.append(f"{ms / fp32_ms:.2f}x")
    return out


def memory(summary):
    """What must not change between rounds: the peak and its breakdown."""
    return summary["peak_allocated_bytes"], summary["by_tag_at_peak"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tally", nargs="?", default="build/bin/tally")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--optimizer", default="adamw", choices=("adamw", "sgd"))
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if args.steps < 2:
        parser.error("--steps must be at least 2, so that a step holds the optimizer state")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    cases = [(m, p) for m in args.models.split(",") for p in PRECISIONS]
    summaries = {}
    fastest = {}
    for _ in range(args.rounds):
        for case in cases:
            summary = run(args, *case)
            if case in summaries and memory(summary) != memory(summaries[case]):
                sys.exit(f"{case[0]} {case[1]}: the memory differs between rounds")
            summaries[case] = summary
            ms = summary["train_seconds"] * 1000.0 / args.steps
            fastest[case] = min(ms, fastest.get(case, ms))

    header = ["model", "precision", *TAGS, "peak", "peak at", "ms/step", "vs fp32"]
    print(f"tally train --device {args.device} --dataset synthetic --optimizer {args.optimizer} "
          f"--batch {args.batch} "
          f"--steps {args.steps} --threads {args.threads}; MiB allocated at the training peak; "
          f"ms/step: the lowest of {args.rounds} round(s)")
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for model, precision in cases:
        row = cells(summaries[(model, precision)], fastest[(model, precision)],
                    fastest[(model, "fp32")])
        print("| " + " | ".join([model, precision, *row]) + " |")


if __name__ == "__main__":
    main()
