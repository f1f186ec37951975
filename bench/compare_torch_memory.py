#!/usr/bin/env python3
"""Sets the memory of one training step in tally beside the same step in PyTorch, on the CPU.

Usage: compare_torch_memory.py [TALLY] [--models mlp,cnn,gpt-tiny,llama-tiny] [--explain]
                               [--python PYTHON]

TALLY is the tally command (default build/bin/tally). Cases: mlp and cnn at batch 64 and 256
(images [B, 1, 28, 28]), gpt-tiny and llama-tiny at batch 8 and 32 (tokens [B, 64]); float32,
plain SGD (no momentum, so no optimizer state), one step from gradients that are not there yet.

What is compared: the peak of the bytes a step holds above the weights and the batch.
  tally: `tally train --model M --batch B --steps 1 --optimizer sgd --dataset synthetic
         --threads 1 --json` (--seq-len 64 for the transformers): peak_requested_bytes minus what
         is held under tag parameter and tag other at the peak (by_tag_at_peak). Tag other is the
         batch (inputs and labels) and, for llama-tiny, the rotary tables (cos and sin, f32
         [context 64, head_dim / 2 = 8] each: 4096 B), which PyTorch holds as module buffers made
         with the model: both sides leave them out, and the table's note names them.
  PyTorch: the models of bench/compare_torch.py (mlp, cnn) and scripts/torch_reference.py
         (gpt-tiny, llama-tiny: the zoo's transformers written op by op), one warm-up step, then
         zero_grad(set_to_none=True) and one step (forward, cross-entropy, backward, SGD step)
         under torch.profiler with profile_memory=True. Parameters and the batch exist before
         profiling starts, so the profiler sees everything else, gradients included. Its memory
         events carry a size and a microsecond time stamp but no address (Debian's torch has no
         Kineto, whose traces would add them). The PyTorch figure is the peak of their running
         sum in the profiler's order, which is the order of the allocator's calls (one thread;
         the worker fails if the list is not in time order).
         Column "op rule" is a bound that does not rely on that order: each event is given to
         the innermost op running at its time, an op's allocations count at its start and its
         frees at its end (events outside any op where they are). It is exact across ops but
         stacks the temporaries an op allocates and frees one after another: for cnn,
         aten::convolution_backward's mkldnn temporaries (the gradient reordered, the weight's
         gradient in mkldnn's layout, ...) are counted together, which PyTorch never holds.
Both sides count requested bytes (what was asked for, before any allocator rounding) and run on
one thread (PyTorch's CPU reductions allocate per-thread buffers otherwise).

--explain names the tensors behind a difference, for the transformers, whose peaks both come at
the start of backward, while every saved tensor is still held (mlp's and cnn's come later in
backward, and differ by 4 B). For tally it replays the allocator trace
(--trace) to the peak and lists what is live there by tag and scope; for PyTorch it runs the
forward again under a TorchDispatchMode that records which module scope and op made each storage,
and walks the autograd graph for the tensors saved for backward (grad_fn._saved_*). PyTorch's
modules are named as tally's scopes, so saved bytes can be set side by side per scope; a step's
transient bytes at the peak (gradients, the loss's gradient) are the rest of each side's peak.

PyTorch comes from Debian's python3-torch, so the PyTorch side runs under /usr/bin/python3 (the
pyenv python3 first on PATH has no torch); this script re-runs itself there with --worker. The
exit status is non-zero when a side could not be run or read (2 when the python lacks torch).
"""

import argparse
import collections
import csv
import json
import os
import subprocess
import sys
import tempfile

SYSTEM_PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CASES = (("mlp", 64), ("mlp", 256), ("cnn", 64), ("cnn", 256),
         ("gpt-tiny", 8), ("gpt-tiny", 32), ("llama-tiny", 8), ("llama-tiny", 32))
TRANSFORMERS = ("gpt-tiny", "llama-tiny")
SEQ = 64
VOCAB = 256
ROTARY_BYTES = {"llama-tiny": 2 * 64 * 8 * 4}  # cos and sin, [context, head_dim / 2] f32


# ----------------------------------------------------------------------------- PyTorch side

def torch_case(model_name, batch):
    """The PyTorch model, its batch (inputs, labels) and its SGD optimizer."""
    import torch
    sys.path[:0] = [HERE, os.path.join(ROOT, "scripts")]
    import compare_torch
    import torch_reference
    torch.manual_seed(0)
    if model_name in TRANSFORMERS:
        model = {"gpt-tiny": torch_reference.GptTiny,
                 "llama-tiny": torch_reference.LlamaTiny}[model_name]()
        inputs = torch.randint(0, VOCAB, (batch, SEQ))
        labels = torch.randint(0, VOCAB, (batch * SEQ,))
    else:
        model = compare_torch.build_model(torch, model_name)
        inputs = torch.randn(batch, 1, 28, 28)
        labels = torch.randint(0, 10, (batch,))
    return model, inputs, labels, torch.optim.SGD(model.parameters(), lr=0.01)


def peak_by_ops(events):
    """The peaks of the profiler's memory events, see the docstring.

    Returns (running-sum peak, the op path there, op-rule peak)."""
    ops = sorted(((e.start_us(), e.start_us() + e.duration_us(), e.name()) for e in events
                  if e.name() != "[memory]"), key=lambda o: (o[0], -o[1]))
    memory = [(e.start_us(), e.nbytes()) for e in events if e.name() == "[memory]"]
    if any(a[0] > b[0] for a, b in zip(memory, memory[1:])):
        raise SystemExit("the profiler's memory events are not in time order")
    # Sweep ops (parents before children) and memory events in time order; an event belongs to
    # the innermost open op, including one that ends in the same microsecond.
    owner = [-1] * len(memory)
    stack = []
    for time, kind, i in sorted([(o[0], 0, i) for i, o in enumerate(ops)] +
                                [(m[0], 1, i) for i, m in enumerate(memory)]):
        while stack and ops[stack[-1]][1] < time:
            stack.pop()
        if kind == 0:
            stack.append(i)
        elif stack:
            owner[i] = stack[-1]
    running = peak = 0
    peak_owner = -1
    for (_, nbytes), op in zip(memory, owner):
        running += nbytes
        if running > peak:
            peak, peak_owner = running, op
    # The op rule: allocations at the owner's start, frees at its end (ends first at equal
    # times); events without an owner where they are.
    actions = []
    for (time, nbytes), op in zip(memory, owner):
        if op < 0:
            actions.append((time, 0 if nbytes < 0 else 1, nbytes))
        else:
            actions.append((ops[op][1], 0, nbytes) if nbytes < 0 else (ops[op][0], 1, nbytes))
    running = op_rule = 0
    for _, _, nbytes in sorted(actions):
        running += nbytes
        op_rule = max(op_rule, running)
    return peak, op_path(ops, peak_owner), op_rule


def op_path(ops, index):
    """"outer > ... > inner" for ops[index]: the ops whose interval holds it."""
    if index < 0:
        return "(outside any op)"
    start, end, _ = ops[index]
    chain = [o[2] for o in ops if o[0] <= start and end <= o[1]]
    return " > ".join(chain[-3:])


def worker(args):
    """Prints {"peak": ..., "op_rule": ..., "peak_op": ...} for one case, as one JSON line."""
    import torch
    from torch.profiler import ProfilerActivity, profile
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    model, inputs, labels, optimizer = torch_case(args.model, args.batch)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(inputs), labels)
        loss.backward()
        optimizer.step()

    step()  # lazy initialisation stays out of the measured step
    optimizer.zero_grad(set_to_none=True)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    peak, peak_op, op_rule = peak_by_ops(list(prof.profiler.kineto_results.events()))
    print(json.dumps({"peak": peak, "op_rule": op_rule, "peak_op": peak_op,
                      "torch": torch.__version__}))


def explain_worker(args):
    """Prints PyTorch's tensors saved for backward after one forward, as one JSON line: a list
    of {scope, op, shape, bytes, saved_by}, one per storage (parameters and batch left out)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    torch.set_num_threads(1)
    model, inputs, labels, _ = torch_case(args.model, args.batch)
    scopes = [""]

    def leave(module, inputs, output):
        scopes.pop()  # returning anything would replace the module's output

    for name, module in model.named_modules():
        module.register_forward_pre_hook(lambda m, i, name=name: scopes.append(name) and None)
        module.register_forward_hook(leave)
    origin = {}  # storage address -> (scope, op, shape) of the op that made the storage

    class Origins(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            flat = [a for a in args if isinstance(a, torch.Tensor)]
            inputs_at = {a.storage().data_ptr() for a in flat}
            for t in out if isinstance(out, (tuple, list)) else [out]:
                if isinstance(t, torch.Tensor) and t.storage().data_ptr() not in inputs_at:
                    origin[t.storage().data_ptr()] = (scopes[-1], str(func.overloadpacket.__name__),
                                                       list(t.shape))
            return out

    with Origins():
        logits = model(inputs)
        scopes.append("loss")
        loss = torch.nn.functional.cross_entropy(logits, labels)
    del logits
    excluded = {t.storage().data_ptr() for t in
                list(model.parameters()) + list(model.buffers()) + [inputs, labels]}
    saved, seen, stack = {}, set(), [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        for attr in dir(node):
            if not attr.startswith("_saved_"):
                continue
            value = getattr(node, attr)
            for t in value if isinstance(value, (tuple, list)) else [value]:
                if not isinstance(t, torch.Tensor) or t.storage().data_ptr() in excluded:
                    continue
                ptr = t.storage().data_ptr()
                scope, op, shape = origin.get(ptr, ("?", "?", list(t.shape)))
                entry = saved.setdefault(ptr, {"scope": scope, "op": op, "shape": shape,
                                               "bytes": t.storage().nbytes(), "saved_by": []})
                entry["saved_by"].append(node.name() + "." + attr[len("_saved_"):])
        stack += [f for f, _ in node.next_functions]
    print(json.dumps(list(saved.values())))


# ----------------------------------------------------------------------------- tally side

def run_json(command, who):
    try:
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        detail = (getattr(error, "stderr", "") or str(error)).strip().splitlines()
        sys.exit(f"compare_torch_memory: {who} failed: {detail[-1] if detail else error}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def tally_step(tally, model, batch, trace=None):
    command = [tally, "train", "--model", model, "--batch", str(batch), "--steps", "1",
               "--optimizer", "sgd", "--dataset", "synthetic", "--threads", "1", "--json"]
    if model in TRANSFORMERS:
        command += ["--seq-len", str(SEQ)]
    if trace:
        command += ["--trace", trace]
    summary = run_json(command, f"tally {model} b{batch}")
    tags = summary["by_tag_at_peak"]
    other = tags["other"]["requested_bytes"]
    return {"bytes": summary["peak_requested_bytes"] - tags["parameter"]["requested_bytes"] - other,
            "other": other, "phase": summary["peak_phase"], "scope": summary["peak_scope"]}


def tally_live_at_peak(trace):
    """Replays tally's trace to the peak of requested bytes: [(tag, scope, bytes)] live there."""
    with open(trace, newline="") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        live, running, peak, at_peak = {}, 0, -1, {}
        for row in rows:
            action, address = row["action"], row["address"]
            if action == "alloc":
                live[address] = [row["tag"], row["scope"], int(row["requested"])]
                running += int(row["requested"])
                if running > peak:
                    peak, at_peak = running, {a: list(v) for a, v in live.items()}
            elif action == "free":
                running -= live.pop(address)[2]
            elif action == "retag":
                live[address][0] = row["tag"]
    return [tuple(v) for v in at_peak.values()]


# ----------------------------------------------------------------------------- report

def explain(args, model, batch, ours, theirs):
    """Prints saved bytes per scope (tally's tag activation at its peak, PyTorch's saved
    tensors after the forward) and, where they differ, the tensors; then what each peak holds
    beyond them."""
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, "trace.csv")
        tally_step(args.tally, model, batch, trace)
        live = tally_live_at_peak(trace)
    saved = run_json([args.python, os.path.abspath(__file__), "--explain-worker", "--model",
                      model, "--batch", str(batch)], f"PyTorch explain {model} b{batch}")
    tally_saved, torch_saved = collections.defaultdict(list), collections.defaultdict(list)
    transient = collections.Counter()
    for tag, scope, nbytes in live:
        if tag == "activation":
            tally_saved[scope].append(nbytes)
        elif tag not in ("parameter", "other"):
            transient[(tag, scope)] += nbytes
    for entry in saved:
        torch_saved[entry["scope"]].append(entry)
    print(f"\n{model} batch {batch}: bytes saved for backward, by scope")
    print(f"  {'scope':<36} {'tally':>10} {'PyTorch':>10} {'difference':>11}")
    for scope in sorted(set(tally_saved) | set(torch_saved)):
        t_bytes = sum(tally_saved[scope])
        p_bytes = sum(e["bytes"] for e in torch_saved[scope])
        mark = "" if t_bytes == p_bytes else "  <-"
        print(f"  {scope or '(model)':<36} {t_bytes:>10} {p_bytes:>10} {p_bytes - t_bytes:>+11}"
              f"{mark}")
        if t_bytes != p_bytes:
            print(f"      tally: {', '.join(str(n) for n in sorted(tally_saved[scope]))}")
            for e in sorted(torch_saved[scope], key=lambda e: -e["bytes"]):
                print(f"      PyTorch: {e['op']}{e['shape']} {e['bytes']} B, saved by "
                      f"{', '.join(sorted(set(e['saved_by'])))}")
    total_ours = sum(sum(v) for v in tally_saved.values())
    total_theirs = sum(e["bytes"] for e in saved)
    print(f"  {'total':<36} {total_ours:>10} {total_theirs:>10} {total_theirs - total_ours:>+11}")
    print(f"  {'peak - saved':<36} {ours['bytes'] - total_ours:>10} "
          f"{theirs['peak'] - total_theirs:>10} "
          f"{theirs['peak'] - total_theirs - ours['bytes'] + total_ours:>+11}")
    print("  tally's peak - saved: " + ", ".join(
        f"{tag} {scope or '(model)'} {n}" for (tag, scope), n in sorted(transient.items())))
    print(f"  PyTorch's peak is in {theirs['peak_op']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tally", nargs="?", default="build/bin/tally")
    parser.add_argument("--models", default=",".join(dict(CASES)),
                        help="comma-separated subset of " + ", ".join(dict(CASES)))
    parser.add_argument("--explain", action="store_true",
                        help="name the tensors behind each difference (see the docstring)")
    parser.add_argument("--python", default=SYSTEM_PYTHON, help="python with torch")
    # The PyTorch side, run by this script under --python.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--explain-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if args.explain_worker:
        return explain_worker(args)

    models = [m for m in args.models.split(",") if m]
    unknown = [m for m in models if m not in dict(CASES)]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}")
    if not os.access(args.tally, os.X_OK):
        sys.exit(f"compare_torch_memory: {args.tally} is not an executable (build tally, or pass "
                 f"its path)")
    check = subprocess.run([args.python, "-c", "import torch; print(torch.__version__)"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check.returncode != 0:
        print(f"compare_torch_memory: {args.python} cannot import torch (install Debian's "
              f"python3-torch)", file=sys.stderr)
        sys.exit(2)
    print(f"tally {args.tally} vs PyTorch {check.stdout.strip()} ({args.python}), cpu, fp32, SGD, "
          f"one step; bytes above the weights and the batch")

    rows = []
    for model, batch in CASES:
        if model not in models:
            continue
        ours = tally_step(args.tally, model, batch)
        theirs = run_json([args.python, os.path.abspath(__file__), "--worker", "--model", model,
                           "--batch", str(batch)], f"PyTorch {model} b{batch}")
        rows.append((model, batch, ours, theirs))

    print()
    header = (f"{'model':<10} {'batch':>5} {'tally B':>10} {'PyTorch B':>10} {'ratio':>7} "
              f"{'difference':>11}  {'op rule':>10}  peak in (tally; PyTorch)")
    print(header)
    print("-" * len(header))
    for model, batch, ours, theirs in rows:
        ratio = ours["bytes"] / theirs["peak"]
        print(f"{model:<10} {batch:>5} {ours['bytes']:>10} {theirs['peak']:>10} {ratio:>7.4f} "
              f"{theirs['peak'] - ours['bytes']:>+11}  {theirs['op_rule']:>10}  "
              f"{ours['phase']} {ours['scope'] or '(model)'}; {theirs['peak_op']}")
    for model, batch, ours, _ in rows:
        if model in ROTARY_BYTES:
            print(f"note: {model} b{batch}: tally's tag other at the peak, {ours['other']} B, is "
                  f"the batch and the rotary tables ({ROTARY_BYTES[model]} B), both left out; "
                  f"PyTorch's tables are buffers made with the model, also left out")
    if args.explain:
        for model, batch, ours, theirs in rows:
            if model in TRANSFORMERS:
                explain(args, model, batch, ours, theirs)


if __name__ == "__main__":
    main()
