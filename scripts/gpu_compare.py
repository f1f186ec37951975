#!/usr/bin/env python3
"""The comparisons of the GPU kit (scripts/gpu_check.sh, docs/gpu.md). Each prints one line for
the kit's summary table and exits 0 when the comparison holds, 1 when it does not, 2 when an input
is missing or unreadable. Standard library only: it runs under any python3 on the GPU machine.

  gpu_compare.py train A.json B.json    two `tally train --json` runs of the same model, seed and
                                        steps (cuda and cpu): the final losses and every
                                        parameter's norm (parameter_norms) must agree; test
                                        accuracy and peak allocated are shown beside them
  gpu_compare.py traces A.csv B.csv     two tally traces event for event: every column but the
                                        time, the device and the address must be equal
  gpu_compare.py outside TRAIN.json     the device memory a cuda run's process holds outside
                                        tally's allocator (device_memory)
"""

import csv
import json
import math
import sys

# A cuda run and a cpu run add the same floats in other orders: after the kit's few steps their
# losses and parameters agree to about 1e-6 (f32 rounding grown by the steps). 1e-3 leaves
# headroom for that and still flags a wrong kernel, which is off by far more.
TOLERANCE = 1e-3
# A run in a 16-bit arrangement (its JSON's precision) rounds every 16-bit output, and a cuda
# output may round to the neighbour of the cpu's: a relative difference of u (2^-11 for f16, 2^-8
# for bf16) per layer, which a few layers and steps add up. 16u, the bound the gpu tests put on a
# step's loss, still flags a kernel that is off by whole updates.
TOLERANCE_OF_PRECISION = {
    "amp-fp16": 16 * 2**-11,
    "fp16": 16 * 2**-11,
    "amp-bf16": 16 * 2**-8,
    "bf16": 16 * 2**-8,
}
MIB = 2**20


class Unreadable(Exception):
    pass


def load_json(path):
    """The last line of a file that holds one JSON object per line (tally's --json output)."""
    try:
        with open(path) as f:
            lines = f.read().strip().splitlines()
        return json.loads(lines[-1])
    except (OSError, IndexError, ValueError) as e:
        raise Unreadable(f"{path}: {e.__class__.__name__}: {e}") from e


def number(value):
    """A JSON number; tally writes a non-finite float as null."""
    return math.nan if value is None else float(value)


def relative(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-30)


def compare_train(a_path, b_path):
    a, b = load_json(a_path), load_json(b_path)
    name = f"{a.get('device')} vs {b.get('device')}"
    if a.get("precision") != b.get("precision"):
        return False, f"{name}: precision {a.get('precision')} vs {b.get('precision')}"
    tolerance = TOLERANCE_OF_PRECISION.get(a.get("precision"), TOLERANCE)
    losses = number(a["final_loss"]), number(b["final_loss"])
    norms_a, norms_b = a.get("parameter_norms") or {}, b.get("parameter_norms") or {}
    if not norms_a or set(norms_a) != set(norms_b):
        return False, f"{name}: parameter_norms missing or naming other parameters"
    norms_a = {k: number(v) for k, v in norms_a.items()}
    norms_b = {k: number(v) for k, v in norms_b.items()}
    worst = max(norms_a, key=lambda k: relative(norms_a[k], norms_b[k]))
    params = relative(norms_a[worst], norms_b[worst])
    loss = relative(*losses)
    finite = all(math.isfinite(v) for v in (*losses, *norms_a.values(), *norms_b.values()))
    ok = finite and loss <= tolerance and params <= tolerance
    peaks = [x["peak_allocated_bytes"] / MIB for x in (a, b)]
    return ok, (
        f"{'ok' if ok else 'DIFFERS'}: loss {losses[0]:.6f} vs {losses[1]:.6f} "
        f"(rel {loss:.1e}), params max rel {params:.1e} ({worst}), tolerance {tolerance:.1e}, "
        f"acc {a['test_accuracy']:.4f} vs {b['test_accuracy']:.4f}, "
        f"peak alloc {peaks[0]:.2f} vs {peaks[1]:.2f} MiB"
    )


IGNORED = {"seq", "time_ns", "device", "address"}


def read_trace(path):
    try:
        with open(path, newline="") as f:
            version = f.readline().strip()
            if not version.startswith("# tally trace"):
                raise Unreadable(f"{path}: not a tally trace")
            return list(csv.DictReader(f))
    except OSError as e:
        raise Unreadable(f"{path}: {e.strerror}") from e


def compare_traces(a_path, b_path):
    a, b = read_trace(a_path), read_trace(b_path)
    for i, (x, y) in enumerate(zip(a, b)):
        diff = [k for k in x if k not in IGNORED and x[k] != y.get(k)]
        if diff:
            shown = ", ".join(f"{k} {x[k]!r} vs {y.get(k)!r}" for k in diff[:3])
            return False, f"DIFFERS at event {i} ({x['action']}): {shown}"
    if len(a) != len(b):
        return False, f"DIFFERS in length: {len(a)} vs {len(b)} events"
    return True, f"EXACT: {len(a)} events equal in every column but time, device and address"


def outside(path):
    run = load_json(path)
    memory = run.get("device_memory")
    if not memory:
        return False, "no device_memory in the run's JSON"
    return True, (
        f"{memory['outside_tally_bytes'] / MIB:.0f} MiB outside tally after the run "
        f"(driver used {memory['driver_used_bytes'] / MIB:.0f} MiB, "
        f"tally reserved {memory['tally_reserved_bytes'] / MIB:.0f} MiB)"
    )


def main(argv):
    commands = {"train": (compare_train, 2), "traces": (compare_traces, 2), "outside": (outside, 1)}
    if len(argv) < 2 or argv[1] not in commands or len(argv) != 2 + commands[argv[1]][1]:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    function, _ = commands[argv[1]]
    try:
        ok, line = function(*argv[2:])
    except Unreadable as e:
        print(f"unreadable: {e}")
        return 2
    except (KeyError, TypeError) as e:
        print(f"unreadable: missing field {e}")
        return 2
    print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
