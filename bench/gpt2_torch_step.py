#!/usr/bin/env python3
"""GPT-2 124M training steps in PyTorch eager on a GPU: peak memory and step time, for the kit.

Usage: gpt2_torch_step.py [--batch 8] [--seq-len 1024] [--steps 5] [--precision amp-bf16|fp32]

The model is scripts/torch_reference.py's GptTiny at GPT-2 small's size (vocab 50257, context
1024, width 768, 12 layers, 12 heads, MLP 3072, tied head, no dropout): op for op what tally
builds from bench/configs/gpt2-124m-no-dropout.json. AdamW (lr 1e-4, weight decay 0.01,
foreach=False: one parameter at a time, as tally's optimizer updates them), autocast in bf16
for amp-bf16, random tokens. Prints one JSON object: torch's version, the device, peak
allocated and reserved bytes over the steps (torch.cuda.max_memory_allocated / _reserved, after
reset_peak_memory_stats once the model and optimizer exist, so the figures are the steps'), and
the median step time in ms (each step ends with the loss read back, as tally's does).

Exit status 2 when torch or CUDA is missing, so that the kit can say why the row is empty.
"""

import argparse
import json
import os
import statistics
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--precision", choices=["amp-bf16", "fp32"], default="amp-bf16")
    args = parser.parse_args()
    try:
        import torch
        from torch.nn import functional as F
    except ImportError as e:
        print(f"gpt2_torch_step: no torch ({e})", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("gpt2_torch_step: torch has no CUDA device", file=sys.stderr)
        return 2
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
    from torch_reference import GptTiny

    torch.manual_seed(0)
    device = torch.device("cuda")
    model = GptTiny(vocab=50257, context=1024, width=768, layers=12, heads=12, inner=3072).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01, foreach=False)
    tokens = torch.randint(0, 50257, (args.batch, args.seq_len), device=device)
    labels = torch.randint(0, 50257, (args.batch * args.seq_len,), device=device)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=args.precision == "amp-bf16"):
            loss = F.cross_entropy(model(tokens), labels)
        loss.backward()
        optimizer.step()
        loss.item()
        times.append((time.perf_counter() - start) * 1e3)
    print(json.dumps({
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0),
        "parameters": sum(p.numel() for p in model.parameters()),
        "peak_allocated_bytes": torch.cuda.max_memory_allocated(),
        "peak_reserved_bytes": torch.cuda.max_memory_reserved(),
        "step_ms": statistics.median(times[1:] if len(times) > 1 else times),
        "loss": loss.item(),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
