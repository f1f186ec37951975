#!/usr/bin/env python3
"""Writes the reference traces in bench/traces/ that allocator strategies are compared on, or
checks the committed ones.

Usage: make_reference_traces.py [--tally TALLY] [--out DIR]
       make_reference_traces.py --check [--tally TALLY] [--out DIR]

Two kinds of trace, both in tally's trace format (`# tally trace v1`, docs/allocator.md):

  model traces   three training steps with AdamW of each small zoo model, recorded on the sim
                 device by `tally estimate` (sim:cuda as the default preset, h100-80gb), at two
                 batch sizes and in fp32 and amp-bf16, and of gpt2-124m at batch 8, sequence
                 length 1024, in fp32: <model>-b<batch>-<precision>.csv. A trace's length does
                 not grow with the batch, only its sizes do, so the model traces take about 2 MB.
  synthetic      patterns whose lower bound (the most requested bytes live at once, what
                 `tally replay` reports beside each strategy) is known by construction; each
                 generator below states it as a formula:
                   synthetic-lifo.csv          nested lifetimes, rounds of varying depth
                   synthetic-random.csv        seeded random sizes and random frees under a budget
                   synthetic-growing-batch.csv activations sized by a batch growing by one per
                                               step (pytorch/pytorch#35901)
                   synthetic-interleaved.csv   small long-lived blocks allocated between large
                                               short-lived ones

Generating (the default) writes every trace into --out (default bench/traces beside this
script), checks each synthetic trace's lower bound twice, by summing its events here and in
`tally replay`'s output, fails if either differs from the stated value, and replays every trace
written. --check generates nothing: it replays every committed trace (each must exit 0) and
checks the synthetic ones' lower bounds, in a few seconds (ctest runs it as
scripts.reference_traces).

The model traces' time_ns column differs from run to run; every other column is reproducible
(the sim device's addresses are deterministic), so a regeneration changes only that column
unless the model, an op or the allocator changed. The exit status is 1 with one line on stderr
for any failure.
"""

import argparse
import json
import os
import random
import subprocess
import sys

PROG = "make_reference_traces"
VERSION_LINE = "# tally trace v1"
HEADER = "seq,time_ns,action,device,address,requested,allocated,stream,tag,prev_tag,scope,phase"
KIB = 1024
MIB = 1024 * KIB
BLOCK = 512  # tally's strategies' granularity, used as the synthetic traces' `allocated`

SMALL_MODELS = {"mlp": (64, 256), "cnn": (32, 64), "gpt-tiny": (8, 16), "llama-tiny": (8, 16)}
PRECISIONS = ("fp32", "amp-bf16")
# (model, batch, precision, sequence length or None for the model's default)
MODEL_CASES = [(model, batch, precision, None)
               for model, batches in SMALL_MODELS.items()
               for batch in batches
               for precision in PRECISIONS] + [("gpt2-124m", 8, "fp32", 1024)]
STEPS = 3


class Failure(Exception):
    pass


class TraceWriter:
    """Block events in tally's trace format, on device sim with a made-up clock (1 us per event)
    and addresses that are never reused, so that each names one block."""

    def __init__(self):
        self.rows = []
        self.next_address = 0x100000000000
        self.requested = {}

    def alloc(self, size, tag, scope="", phase="none"):
        address = self.next_address
        allocated = (size + BLOCK - 1) // BLOCK * BLOCK
        self.next_address += allocated
        self.requested[address] = (size, allocated, tag, scope, phase)
        self._row("alloc", address, size, allocated, tag, scope, phase)
        return address

    def free(self, address):
        size, allocated, tag, scope, phase = self.requested.pop(address)
        self._row("free", address, size, allocated, tag, scope, phase)

    def _row(self, action, address, size, allocated, tag, scope, phase):
        seq = len(self.rows)
        self.rows.append(f"{seq},{seq * 1000},{action},sim,{address:#x},{size},{allocated},0,"
                         f"{tag},,{scope},{phase}")

    def write(self, path):
        with open(path, "w", encoding="ascii") as out:
            out.write(f"{VERSION_LINE}\n{HEADER}\n")
            out.write("\n".join(self.rows) + "\n")


def lifo():
    """Rounds of nested lifetimes: round r allocates blocks 1..d_r, block i of i * 256 KiB + 100
    bytes, and frees them in reverse. d_r = 1 + 7r mod 32 runs through every depth from 1 to 32,
    so the peak is one full-depth round: 256 KiB * 32 * 33 / 2 + 100 * 32."""
    depth, unit, extra = 32, 256 * KIB, 100
    t = TraceWriter()
    for r in range(3 * depth):
        d = 1 + (7 * r) % depth
        stack = [t.alloc(i * unit + extra, "activation", f"layers.{i}", "forward")
                 for i in range(1, d + 1)]
        for address in reversed(stack):
            t.free(address)
    return t, unit * depth * (depth + 1) // 2 + extra * depth


def random_lifetimes():
    """Seeded sizes, log-uniform from 512 B to 8 MiB, each allocated while it fits under a budget
    of 96 MiB live and otherwise a live block chosen at random freed first. Half-way, one block
    fills the budget exactly; it then lives and dies like the others. Live bytes never exceed the
    budget and reach it once, so the lower bound is the budget, 96 MiB."""
    budget, events = 96 * MIB, 4000
    rng = random.Random(35901)
    t = TraceWriter()
    live = []  # (address, size)
    live_bytes = 0
    filled = False
    tags = ("activation", "temporary", "gradient")
    while len(t.rows) < events:
        if not filled and len(t.rows) >= events // 2 and live_bytes < budget:
            size, filled = budget - live_bytes, True
        else:
            size = int(2 ** rng.uniform(9, 23))
        while live_bytes + size > budget:
            address, freed = live.pop(rng.randrange(len(live)))
            t.free(address)
            live_bytes -= freed
        live.append((t.alloc(size, rng.choice(tags)), size))
        live_bytes += size
    for address, _ in live:
        t.free(address)
    return t, budget


def growing_batch():
    """A convolutional model's steps at a batch growing by one per step, 256 to 295
    (pytorch/pytorch#35901: every step's activations are a little larger than the blocks the
    last step freed, so a caching allocator cannot reuse them and takes new segments).
    Parameters (6 blocks, 5,357,608 B) live throughout; each step allocates its input, then 6
    layers' activations in order (the largest over 10 MiB, in segments of their own under the
    caching strategy), and frees them in reverse, then the input. The peak is the last step's:
    parameters + 295 * (input + activations per sample)."""
    params = (784 * 1024 * 4, 1024 * 4, 1024 * 1024 * 4 // 2, 1024 * 4, 1024 * 10 * 4, 10 * 4)
    per_sample_input = 784 * 4
    # conv 32x26x26, relu, pool 32x13x13, conv 64x11x11, relu, logits 10; f32
    per_sample = (86528, 86528, 21632, 30976, 30976, 40)
    first, steps = 256, 40
    t = TraceWriter()
    for i, size in enumerate(params):
        t.alloc(size, "parameter", f"layers.{i}")
    for step in range(steps):
        batch = first + step
        batch_input = t.alloc(batch * per_sample_input, "other")
        acts = [t.alloc(batch * s, "activation", f"layers.{i}", "forward")
                for i, s in enumerate(per_sample)]
        for address in reversed(acts):
            t.free(address)
        t.free(batch_input)
    last = first + steps - 1
    return t, sum(params) + last * (per_sample_input + sum(per_sample))


def interleaved():
    """Step t (0..299) allocates a large short-lived block of 32 MiB + t * 512 KiB, then a small
    long-lived one of 64 KiB * (1 + t mod 32), then frees the large one; the small ones are freed
    at the end. Both grow with t, so the peak is at the last step: its large block plus every
    small one."""
    steps = 300
    t = TraceWriter()
    small_sizes = [64 * KIB * (1 + s % 32) for s in range(steps)]
    smalls = []
    for s in range(steps):
        large = t.alloc(32 * MIB + s * 512 * KIB, "temporary", "attention", "forward")
        smalls.append(t.alloc(small_sizes[s], "optimizer", "state", "optimizer"))
        t.free(large)
    for address in smalls:
        t.free(address)
    return t, 32 * MIB + (steps - 1) * 512 * KIB + sum(small_sizes)


# file name: (generator, what it is, for the index)
SYNTHETIC = {
    "synthetic-lifo.csv": (lifo, "nested lifetimes, 96 rounds of depth 1 to 32"),
    "synthetic-random.csv": (random_lifetimes, "seeded random sizes and frees under 96 MiB live"),
    "synthetic-growing-batch.csv": (growing_batch,
                                    "40 steps at batch 256 to 295 (pytorch/pytorch#35901)"),
    "synthetic-interleaved.csv": (interleaved, "small long-lived blocks between large "
                                               "short-lived ones, 300 steps"),
}


def expected_bounds():
    """The stated lower bound of every synthetic trace, by file name."""
    return {name: make()[1] for name, (make, _) in SYNTHETIC.items()}


def lower_bound_of(path):
    """The most requested bytes live at once, summed from the file's alloc and free rows."""
    live, peak, requested = 0, 0, {}
    with open(path, encoding="ascii") as trace:
        if trace.readline().rstrip("\r\n") != VERSION_LINE:
            raise Failure(f"{path}: not a tally trace")
        trace.readline()
        for line in trace:
            fields = line.rstrip("\r\n").split(",")
            action, address, size = fields[2], fields[4], int(fields[5])
            if action == "alloc":
                requested[address] = size
                live += size
                peak = max(peak, live)
            elif action == "free":
                live -= requested.pop(address)
    return peak


def format_bytes(n):
    """allocator/units.cpp's format_bytes, as tally replay prints a lower bound."""
    if n < KIB:
        return f"{n} B"
    value, unit = float(n), 0
    while value >= 1024.0 and unit < 4:
        value /= 1024.0
        unit += 1
    return f"{value:.2f} {('B', 'KiB', 'MiB', 'GiB', 'TiB')[unit]}"


def run(command):
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            check=False)
    if result.returncode != 0:
        last = (result.stdout.strip().splitlines() or ["no output"])[-1]
        raise Failure(f"{' '.join(command)} exited {result.returncode}: {last}")
    return result.stdout


def replayed_bound(tally, path):
    """The lower bound `tally replay --json` gives, in bytes."""
    tables = json.loads(run([tally, "replay", path, "--json"]))
    if len(tables) != 1 or "lower_bound_bytes" not in tables[0]:
        raise Failure(f"tally replay {path} --json gave no lower bound")
    return tables[0]["lower_bound_bytes"]


def check_synthetic(tally, path, expected):
    summed = lower_bound_of(path)
    if summed != expected:
        raise Failure(f"{path}: lower bound {summed} B summed from the events, stated {expected} B")
    bound = replayed_bound(tally, path)
    if bound != expected:
        raise Failure(f"{path}: tally replay gives lower bound {bound} B, stated {expected} B")
    print(f"{os.path.basename(path)}: lower bound {expected} B ({format_bytes(expected)}), "
          "summed and replayed")


def record_model(tally, path, model, batch, precision, seq_len):
    command = [tally, "estimate", "--model", model, "--batch", str(batch), "--precision",
               precision, "--optimizer", "adamw", "--steps", str(STEPS), "--trace", path]
    if seq_len:
        command += ["--seq-len", str(seq_len)]
    run(command)
    print(f"{os.path.basename(path)}: {os.path.getsize(path)} bytes, lower bound "
          f"{lower_bound_of(path)} B")


def events_of(path):
    with open(path, encoding="ascii") as trace:
        return sum(1 for _ in trace) - 2


def write_index(out):
    """README.md beside the traces: what each is, its events and its lower bound."""
    rows = []
    for model, batch, precision, seq_len in MODEL_CASES:
        name = f"{model}-b{batch}-{precision}.csv"
        what = f"{model}, batch {batch}, {precision}" + (f", seq-len {seq_len}" if seq_len else "")
        rows.append((name, f"{STEPS} steps of {what}, adamw, sim:cuda"))
    for name, (_, what) in SYNTHETIC.items():
        rows.append((name, what))
    with open(os.path.join(out, "README.md"), "w", encoding="ascii") as index:
        index.write("# Reference traces\n\nWritten by `bench/make_reference_traces.py`, which says "
                    "how each is made;\nregenerate with `python3 bench/make_reference_traces.py "
                    "--tally build/bin/tally`.\nThe lower bound is the most requested bytes live at "
                    "once (`tally replay`'s column).\n\n")
        index.write("| trace | what | events | lower bound (B) |\n|---|---|---:|---:|\n")
        for name, what in rows:
            path = os.path.join(out, name)
            index.write(f"| `{name}` | {what} | {events_of(path)} | {lower_bound_of(path)} |\n")


def generate(tally, out):
    os.makedirs(out, exist_ok=True)
    for model, batch, precision, seq_len in MODEL_CASES:
        record_model(tally, os.path.join(out, f"{model}-b{batch}-{precision}.csv"), model, batch,
                     precision, seq_len)
    for name, (make, _) in SYNTHETIC.items():
        trace, expected = make()
        path = os.path.join(out, name)
        trace.write(path)
        check_synthetic(tally, path, expected)
    for name in sorted(os.listdir(out)):
        if name.endswith(".csv"):
            run([tally, "replay", os.path.join(out, name)])
    write_index(out)


def check(tally, out):
    names = sorted(n for n in os.listdir(out) if n.endswith(".csv"))
    missing = [n for n in SYNTHETIC if n not in names]
    if missing:
        raise Failure(f"{out}: missing {', '.join(missing)}")
    expected = expected_bounds()
    for name in names:
        path = os.path.join(out, name)
        if name in expected:
            check_synthetic(tally, path, expected[name])
        else:
            run([tally, "replay", path])
            print(f"{name}: replays")
    print(f"{len(names)} traces checked")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tally", default=os.path.join(here, "..", "build", "bin", "tally"))
    parser.add_argument("--out", default=os.path.join(here, "traces"))
    parser.add_argument("--check", action="store_true",
                        help="check the committed traces instead of writing them")
    args = parser.parse_args()
    try:
        if args.check:
            check(args.tally, args.out)
        else:
            generate(args.tally, args.out)
    except (Failure, OSError) as error:
        sys.exit(f"{PROG}: error: {error}")


if __name__ == "__main__":
    main()
