#!/usr/bin/python3
"""Writes PyTorch's forward and backward for two small models, for tally's end-to-end test.

Usage: /usr/bin/python3 scripts/torch_reference.py [output-dir]
(Debian's python3 with python3-torch and python3-numpy; the default output directory is
tests/data/torch_reference/ next to this script's parent.) tests/nn/torch_reference_test.cpp
rebuilds the same models with tally, loads PyTorch's parameters, and compares the loss and every
gradient. The output is deterministic: a fixed seed, one thread, deterministic algorithms.

Models (float32, cross-entropy with integer labels, mean over the batch):
  mlp  input [8, 1, 8, 8]
       layers = Flatten, Linear(64, 32), ReLU, Linear(32, 16), GELU(approximate='tanh'),
                Linear(16, 10)
  cnn  input [4, 1, 12, 12]
       features = Conv2d(1, 4, 3, padding=1) -> [4, 4, 12, 12], ReLU,
                  MaxPool2d(2) -> [4, 4, 6, 6],
                  Conv2d(4, 6, 3) -> [4, 6, 4, 4], ReLU,
                  AvgPool2d(2) -> [4, 6, 2, 2]
       classifier = Flatten -> [4, 24], Linear(24, 10)

File format, one file per model (<model>.bin): the line "tally-torch-reference 1\n", then
records until the end of the file. A record is one ASCII header line
    <name> <dtype> <rank> <dim0> ... <dimN-1>\n
(dtype is f32 or i64; a scalar has rank 0) followed by the elements in row-major order as raw
little-endian float32 or int64. Records: "input", "labels", "loss", every parameter under its
PyTorch name ("layers.1.weight"), then "<name>.grad" for every parameter and "input.grad".
"""

import os
import sys

import numpy as np
import torch
from torch import nn

SEED = 20240601
MAGIC = b"tally-torch-reference 1\n"


class Mlp(nn.Module):
    input_shape = [8, 1, 8, 8]

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64, 32),
            nn.ReLU(),
            nn.Linear(32, 16),
            nn.GELU(approximate="tanh"),
            nn.Linear(16, 10),
        )

    def forward(self, x):
        return self.layers(x)


class Cnn(nn.Module):
    input_shape = [4, 1, 12, 12]

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 6, 3, stride=1, padding=0),
            nn.ReLU(),
            nn.AvgPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(6 * 2 * 2, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def record(name, tensor):
    array = tensor.detach().cpu().contiguous().numpy()
    if array.dtype == np.float32:
        dtype, layout = "f32", "<f4"
    elif array.dtype == np.int64:
        dtype, layout = "i64", "<i8"
    else:
        raise TypeError(f"{name}: unsupported dtype {array.dtype}")
    header = " ".join([name, dtype, str(array.ndim)] + [str(d) for d in array.shape]) + "\n"
    return header.encode("ascii") + array.astype(layout).tobytes()


def reference(model_class):
    # Seeded per model so that each file depends only on its own model.
    torch.manual_seed(SEED)
    model = model_class()
    x = torch.randn(model.input_shape, dtype=torch.float32, requires_grad=True)
    labels = torch.randint(0, 10, (model.input_shape[0],), dtype=torch.int64)
    loss = nn.functional.cross_entropy(model(x), labels)
    loss.backward()
    params = list(model.named_parameters())
    records = [record("input", x), record("labels", labels), record("loss", loss)]
    records += [record(name, p) for name, p in params]
    records += [record(name + ".grad", p.grad) for name, p in params]
    records.append(record("input.grad", x.grad))
    return MAGIC + b"".join(records)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "data",
                                                                 "torch_reference")
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    for name, model_class in [("mlp", Mlp), ("cnn", Cnn)]:
        data = reference(model_class)
        path = os.path.join(out_dir, name + ".bin")
        with open(path, "wb") as f:
            f.write(data)
        print(f"{path}: {len(data)} bytes")


if __name__ == "__main__":
    main()
