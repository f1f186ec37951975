#!/usr/bin/env python3
"""Times one training step of the zoo models in tally and in PyTorch; prints the ratio.

Usage: compare_torch.py [BENCH] [--device cpu|cuda] [--models mlp,cnn,gpt-tiny,llama-tiny]
                        [--warmup W] [--steps N] [--rounds R] [--threads 1,2] [--python PYTHON]

For (mlp, batch 256), (cnn, batch 64), (gpt-tiny, batch 8) and (llama-tiny, batch 8) at every
thread count, runs BENCH (tally_train_step_bench) and the same step in PyTorch, each in its own
process: same architecture, SGD with lr 0.01, fixed random inputs (images [B, 1, 28, 28] and
labels; for the transformers tokens [B, 64] and labels [B * 64], uniform over the vocabulary of
256), zero_grad (set_to_none=True), forward, cross-entropy, backward, step; same warm-up and step
counts. The transformers' PyTorch side is scripts/torch_reference.py's GptTiny and LlamaTiny:
the zoo's models written in PyTorch's eager ops as Hugging Face's modelling code computes them
(composed RMSNorm and rotary embeddings, eager attention), which is what tally's fused
rms_norm and rotary ops are measured against. Each
process reports the median of its timed steps. With several rounds the two sides take turns going
first and each side keeps its lowest median: on a shared machine the other load only ever adds
time, so the least disturbed round is the best estimate of either side's own cost. The range of
the per-round ratios is printed beside it: on a virtual machine whose speed drifts by a third
within seconds (seen on the 2-core development machine), that range shows how far to trust the
ratio.

PyTorch comes from Debian's python3-torch, so the PyTorch side always runs under /usr/bin/python3
(the pyenv python3 first on PATH has no torch); this script re-runs itself there with --worker.
The environment (OPENBLAS_CORETYPE included) is passed unchanged to both sides; only the thread
counts are set, through each library's own call: tally's --threads, and in PyTorch
torch.set_num_threads, set_num_interop_threads(1) and OpenBLAS's openblas_set_num_threads
(Debian's PyTorch does its GEMMs in OpenBLAS, whose pool torch.set_num_threads leaves alone).
With more than one thread PyTorch then has two pools, OpenMP's and OpenBLAS's, and libgomp's
default active wait lets idle OpenMP workers spin on the cores OpenBLAS needs: on 2 cores that
roughly doubles PyTorch's MLP step. That is how PyTorch runs in this environment, so it is
measured as is; OMP_WAIT_POLICY=PASSIVE in the environment (applied to both sides) removes it.

With --device cuda both sides run on cuda:0 (tally_train_step_bench --device cuda, PyTorch
eager with the model and data on the GPU), and the PyTorch side runs under the python3 running
this script (on a GPU machine, the one whose torch has CUDA) unless --python names another. Each
timed step ends with the loss read back to the host, as tally's train_step does, so both sides
time the whole step's GPU work. TF32 is off on both sides (PyTorch's cuDNN default is on): f32
products are full f32 products, as tally computes them unless told otherwise. Thread counts then
only size the CPU pools, which the step barely uses: the default is one.

The target is tally / PyTorch <= 1.0. Missed targets are reported, not failed on: the exit status
is non-zero only when a side could not be run or read (2 when the PyTorch side's python lacks
torch, or CUDA with --device cuda).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

SYSTEM_PYTHON = "/usr/bin/python3"
CASES = (("mlp", 256), ("cnn", 64), ("gpt-tiny", 8), ("llama-tiny", 8))
TRANSFORMERS = ("gpt-tiny", "llama-tiny")
SEQ_LEN = 64
VOCAB = 256
RATIO_LIMIT = 1.0
LR = 0.01


def build_model(torch, name):
    """The zoo's models (nn/models.h), layer for layer."""
    if name in TRANSFORMERS:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))), "scripts"))
        import torch_reference
        models = {"gpt-tiny": torch_reference.GptTiny, "llama-tiny": torch_reference.LlamaTiny}
        return models[name]()
    nn = torch.nn
    if name == "mlp":
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 1024), nn.ReLU(),
            nn.Linear(1024, 1024), nn.ReLU(),
            nn.Linear(1024, 10))
    if name == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 5 * 5, 128), nn.ReLU(),
            nn.Linear(128, 10))
    raise ValueError(f"unknown model {name!r}")


def set_openblas_threads(threads):
    """Gives the OpenBLAS that PyTorch loaded the same thread count; returns what it reports.

    Debian's PyTorch does its GEMMs in OpenBLAS (through libblas.so.3), whose own thread pool
    torch.set_num_threads does not touch: without this, "1 thread" would still run every GEMM on
    all cores while tally's ran on one. The library is already loaded, so this finds that copy.
    """
    import ctypes
    try:
        openblas = ctypes.CDLL("libopenblas.so.0")
        openblas.openblas_set_num_threads(threads)
        return openblas.openblas_get_num_threads()
    except (OSError, AttributeError):
        return "unknown"


def worker(args):
    """The PyTorch side: prints one line in the format of tally_train_step_bench."""
    import torch
    import torch.nn.functional as F

    # Interop threads must be fixed before any parallel work starts, so before the model exists.
    torch.set_num_interop_threads(1)
    torch.set_num_threads(args.threads)
    blas_threads = set_openblas_threads(args.threads) if args.device == "cpu" else "n/a"
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    device = torch.device(args.device)
    model = build_model(torch, args.model).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    if args.model in TRANSFORMERS:
        images = torch.randint(0, VOCAB, (args.batch, SEQ_LEN)).to(device)
        labels = torch.randint(0, VOCAB, (args.batch * SEQ_LEN,)).to(device)
    else:
        images = torch.randn(args.batch, 1, 28, 28).to(device)
        labels = torch.randint(0, 10, (args.batch,)).to(device)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        loss = step()
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()

    def pct(p):
        return times[round(p / 100 * (len(times) - 1))]

    print(f"model={args.model} batch={args.batch} threads={args.threads} steps={args.steps} "
          f"median_ms={pct(50):.4f} p10_ms={pct(10):.4f} p90_ms={pct(90):.4f} "
          f"min_ms={times[0]:.4f} loss={loss:.5f} torch={torch.__version__} "
          f"blas_threads={blas_threads} device={args.device}")


class SideError(Exception):
    """A side that could not be run or read; its case is reported as failed."""


def parse_line(text, who):
    """The last key=value line of a side's stdout, as a dict."""
    lines = [line for line in text.splitlines() if "median_ms=" in line]
    if not lines:
        raise SideError(f"{who} printed no median_ms line")
    return dict(field.split("=", 1) for field in lines[-1].split() if "=" in field)


def run_side(command, who):
    try:
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, check=True)
    except OSError as error:
        raise SideError(f"could not run {who}: {error}") from error
    except subprocess.CalledProcessError as error:
        detail = (error.stderr or "").strip().splitlines()
        raise SideError(f"{who} failed (exit {error.returncode})"
                        + (f": {detail[-1]}" if detail else "")) from error
    return parse_line(result.stdout, who)


def tally_command(bench, model, batch, threads, args):
    seq = ["--seq-len", str(SEQ_LEN)] if model in TRANSFORMERS else []
    return [bench, "--model", model, "--batch", str(batch), "--threads", str(threads),
            "--warmup", str(args.warmup), "--steps", str(args.steps), "--device", args.device] + seq


def torch_command(model, batch, threads, args):
    return [args.python, os.path.abspath(__file__), "--worker", "--model", model,
            "--batch", str(batch), "--threads", str(threads), "--warmup", str(args.warmup),
            "--steps", str(args.steps), "--device", args.device]


CHECK_TORCH = """import torch
line = torch.__version__
if DEVICE == "cuda":
    if not torch.cuda.is_available():
        raise SystemExit("torch " + line + " sees no CUDA device")
    line += " on " + torch.cuda.get_device_name(0)
print(line)
"""


def check_torch(python, device):
    """Returns PyTorch's version (and GPU) under `python`, or exits 2 with one line."""
    try:
        result = subprocess.run([python, "-c", f"DEVICE = {device!r}\n" + CHECK_TORCH],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except OSError as error:
        print(f"compare_torch: cannot run {python}: {error}", file=sys.stderr)
        sys.exit(2)
    if result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()
        hint = "install Debian's python3-torch" if python == SYSTEM_PYTHON else "no usable torch"
        print(f"compare_torch: {python} cannot run PyTorch on {device} "
              f"({detail[-1] if detail else hint})", file=sys.stderr)
        sys.exit(2)
    return result.stdout.strip()


def parse_threads(text):
    try:
        threads = [int(t) for t in text.split(",") if t]
    except ValueError:
        threads = []
    if not threads or min(threads) < 1:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of counts >= 1, "
                                         f"got {text!r}")
    return threads


def parse_models(text):
    models = [m for m in text.split(",") if m]
    known = [name for name, _ in CASES]
    if not models or any(m not in known for m in models):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(known)}, "
                                         f"got {text!r}")
    return models


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def non_negative(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", nargs="?", default="build/bin/tally_train_step_bench")
    parser.add_argument("--warmup", type=non_negative, default=10)
    parser.add_argument("--steps", type=positive, default=40)
    parser.add_argument("--rounds", type=positive, default=2)
    parser.add_argument("--threads", type=parse_threads,
                        help="thread counts (default 1,2 on cpu, 1 on cuda)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--models", type=parse_models, default=[name for name, _ in CASES])
    parser.add_argument("--python",
                        help=f"python with torch for the PyTorch side (default {SYSTEM_PYTHON} on "
                             f"cpu, this script's python on cuda)")
    # The PyTorch side, run by this script under --python.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", default="mlp", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=positive, default=256, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.threads is None:
        args.threads = [1, 2] if args.device == "cpu" else [1]
    if args.worker:
        args.threads = args.threads[0]
        worker(args)
        return
    if args.python is None:
        args.python = SYSTEM_PYTHON if args.device == "cpu" else sys.executable

    if not os.access(args.bench, os.X_OK):
        sys.exit(f"compare_torch: {args.bench} is not an executable (build the "
                 f"tally_train_step_bench target, or pass its path)")
    version = check_torch(args.python, args.device)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"tally {args.bench} vs PyTorch {version} ({args.python}) on {args.device}; "
          f"warm-up {args.warmup}, "
          f"{args.steps} timed steps, best median of {args.rounds} round(s); "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; "
          f"load average {load:.2f} at start", flush=True)

    rows = []
    failures = []
    for model, batch in CASES:
        if model not in args.models:
            continue
        for threads in args.threads:
            tally_ms, torch_ms = [], []
            try:
                for round_index in range(args.rounds):
                    sides = [("tally", tally_command(args.bench, model, batch, threads, args),
                              tally_ms),
                             ("torch", torch_command(model, batch, threads, args), torch_ms)]
                    # Alternate who goes first, so neither side always meets the same drift.
                    if round_index % 2:
                        sides.reverse()
                    for who, command, into in sides:
                        line = run_side(command, f"{who} {model} t{threads}")
                        into.append(float(line["median_ms"]))
            except SideError as error:
                print(f"compare_torch: {error}", file=sys.stderr, flush=True)
                failures.append((model, batch, threads, str(error)))
                continue
            print(f"  {model} b{batch} t{threads}: tally "
                  f"{' '.join(f'{t:.1f}' for t in tally_ms)} ms, torch "
                  f"{' '.join(f'{t:.1f}' for t in torch_ms)} ms", file=sys.stderr, flush=True)
            paired = [t / p for t, p in zip(tally_ms, torch_ms)]
            rows.append((model, batch, threads, min(tally_ms), min(torch_ms), paired))

    print()
    header = (f"{'model':<10} {'batch':>5} {'threads':>7} {'tally ms':>9} {'torch ms':>9} "
              f"{'ratio':>6} {'per round':>11}  target <= {RATIO_LIMIT:g}")
    print(header)
    print("-" * len(header))
    for model, batch, threads, tally_ms, torch_ms, paired in rows:
        ratio = tally_ms / torch_ms
        verdict = "PASS" if ratio <= RATIO_LIMIT else "MISS"
        spread = f"{min(paired):.2f}-{max(paired):.2f}" if len(paired) > 1 else "-"
        print(f"{model:<10} {batch:>5} {threads:>7} {tally_ms:>9.2f} {torch_ms:>9.2f} "
              f"{ratio:>6.2f} {spread:>11}  {verdict}")
    for model, batch, threads, error in failures:
        print(f"{model:<10} {batch:>5} {threads:>7}  FAILED: {error}")
    if rows:
        geo = statistics.geometric_mean([r[3] / r[4] for r in rows])
        print(f"geometric mean ratio {geo:.2f}; per round: the range of tally/PyTorch within each "
              f"round, whose two runs are back to back (a wide range means the machine was noisy)")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
