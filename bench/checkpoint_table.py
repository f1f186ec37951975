#!/usr/bin/env python3
"""Trains a model under several checkpoint policies; prints one table of their memory and time.

Usage: checkpoint_table.py [BENCH] [--model deep-mlp] [--policies none,every:1,sqrt,every:4]
                           [--device cpu|cuda] [--batch B] [--warmup W] [--steps N]
                           [--threads T] [--rounds R]

BENCH is tally_train_step_bench. For every policy it runs
`BENCH --model M --checkpoint P --batch B --warmup W --steps N --device D` in its own process
(SGD, fixed random inputs, no data loading and no evaluation) and prints: the activation bytes'
peak (tag activation: what the forward pass keeps for backward, recomputed bytes included), the
allocator's peaks of allocated and reserved bytes, and the median time per step, each also as a
ratio against the policy `none` of this invocation. Bytes are MiB (2^20).

With R rounds every policy runs R times, the policies in turn, and keeps its lowest median:
other load only ever adds time. The memory of every round must be the same, byte for byte, or
the script stops. The exit status is non-zero only when a run could not be made or read.
"""

import argparse
import sys

from run_command import stdout_of

MIB = 1 << 20
MEMORY = ("activation_peak_bytes", "allocated_peak_bytes", "reserved_peak_bytes")


def run(args, policy):
    """One bench run: its key=value line as a dict."""
    command = [
        args.bench, "--model", args.model, "--checkpoint", policy, "--batch", str(args.batch),
        "--warmup", str(args.warmup), "--steps", str(args.steps), "--threads", str(args.threads),
        "--device", args.device
    ]
    lines = [line for line in stdout_of(command).splitlines() if "median_ms=" in line]
    if not lines:
        sys.exit(f"{' '.join(command)} printed no median_ms line")
    fields = dict(item.split("=", 1) for item in lines[-1].split())
    try:
        return {"ms": float(fields["median_ms"]), **{key: int(fields[key]) for key in MEMORY}}
    except (KeyError, ValueError) as error:
        sys.exit(f"{' '.join(command)} printed an unreadable line ({error}): {lines[-1]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", nargs="?", default="build/bin/tally_train_step_bench")
    parser.add_argument("--model", default="deep-mlp")
    parser.add_argument("--policies", default="none,every:1,sqrt,every:4")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    policies = args.policies.split(",")
    if "none" not in policies:
        parser.error("--policies must include none, the baseline of the ratios")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    results = {}
    for _ in range(args.rounds):
        for policy in policies:
            result = run(args, policy)
            if policy in results:
                if any(result[key] != results[policy][key] for key in MEMORY):
                    sys.exit(f"{policy}: the memory differs between rounds")
                result["ms"] = min(result["ms"], results[policy]["ms"])
            results[policy] = result

    base = results["none"]
    print(f"tally_train_step_bench --model {args.model} --device {args.device} --batch "
          f"{args.batch} --warmup {args.warmup} --steps {args.steps} --threads {args.threads}; "
          f"MiB; ms/step: the median of the steps, the lowest of {args.rounds} round(s)")
    print()
    header = ["policy", "activation peak", "vs none", "allocated peak", "reserved peak",
              "ms/step", "vs none"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for policy in policies:
        r = results[policy]
        cells = [
            policy, f"{r['activation_peak_bytes'] / MIB:.2f}",
            f"{r['activation_peak_bytes'] / base['activation_peak_bytes']:.3f}",
            f"{r['allocated_peak_bytes'] / MIB:.2f}", f"{r['reserved_peak_bytes'] / MIB:.2f}",
            f"{r['ms']:.1f}", f"{r['ms'] / base['ms']:.2f}x"
        ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
