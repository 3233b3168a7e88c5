#!/usr/bin/env python3
"""PyTorch CPU reference for `dakit bench`.

Runs the same cases with the same shapes as `dakit bench` (Sources/dakit/BenchCommand.swift) and
prints one JSON object per line: {"case": NAME, "ms_per_step": X, "gflops": Y}. The step time is the
median over the timed iterations, after untimed warm-up steps, exactly as in `dakit bench`; the
FLOP counts are the same nominal ones (training step = 3 × forward multiply-adds × 2).

    python3 Benchmarks/pytorch_reference.py --threads 2
    python3 Benchmarks/pytorch_reference.py --case cnn-lenet-b128 --threads 1

Install a CPU build of PyTorch with
    pip install torch --index-url https://download.pytorch.org/whl/cpu
"""

import argparse
import json
import os
import statistics
import sys
import time


CPU_MS = {}


def median_ms(step, warmup, iterations):
    """Median wall-clock ms per step; the median CPU ms of the process (all threads) is kept in CPU_MS."""
    for _ in range(warmup):
        step()
    times = []
    cpu = []
    for _ in range(iterations):
        start, cpu_start = time.perf_counter(), time.process_time()
        step()
        times.append((time.perf_counter() - start) * 1e3)
        cpu.append((time.process_time() - cpu_start) * 1e3)
    CPU_MS["last"] = statistics.median(cpu)
    return statistics.median(times)


def sgemm_1024(torch, warmup, iterations):
    n = 1024
    g = torch.Generator().manual_seed(1)
    a = torch.rand(n, n, generator=g) * 2 - 1
    b = torch.rand(n, n, generator=g) * 2 - 1
    ms = median_ms(lambda: torch.matmul(a, b), warmup, iterations)
    return ms, 2 * n**3 / (ms * 1e6)


def sgemm_1024_out(torch, warmup, iterations):
    """The same product into a preallocated tensor (the counterpart of sgemm-1024-direct)."""
    n = 1024
    g = torch.Generator().manual_seed(1)
    a = torch.rand(n, n, generator=g) * 2 - 1
    b = torch.rand(n, n, generator=g) * 2 - 1
    c = torch.empty(n, n)
    ms = median_ms(lambda: torch.matmul(a, b, out=c), warmup, iterations)
    return ms, 2 * n**3 / (ms * 1e6)


def training_step_ms(torch, model, x, labels, warmup, iterations):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), labels)
        loss.backward()
        optimizer.step()

    return median_ms(step, warmup, iterations)


def mlp(torch, warmup, iterations):
    torch.manual_seed(2)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    batch = 256
    x = torch.rand(batch, 784)
    labels = torch.randint(0, 10, (batch,))
    ms = training_step_ms(torch, model, x, labels, warmup, iterations)
    forward = 2.0 * batch * (784 * 256 + 256 * 10)
    return ms, 3 * forward / (ms * 1e6)


def cnn_lenet(torch, warmup, iterations):
    torch.manual_seed(3)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))
    batch = 128
    x = torch.rand(batch, 1, 28, 28)
    labels = torch.randint(0, 10, (batch,))
    ms = training_step_ms(torch, model, x, labels, warmup, iterations)
    macs = 6 * 24 * 24 * 25 + 16 * 8 * 8 * 150 + 256 * 120 + 120 * 84 + 84 * 10
    return ms, 3 * 2 * macs * batch / (ms * 1e6)


CASES = {
    "sgemm-1024": sgemm_1024,
    "sgemm-1024-out": sgemm_1024_out,
    "mlp-784-256-10-b256": mlp,
    "cnn-lenet-b128": cnn_lenet,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", action="append", default=[], help="run only this case (repeatable)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch.set_num_threads (default: all cores)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()
    for name in args.case:
        if name not in CASES:
            print(f"pytorch_reference.py: unknown case {name}; known: {', '.join(CASES)}", file=sys.stderr)
            return 2
    if args.threads < 1 or args.iterations < 1 or args.warmup < 0:
        print("pytorch_reference.py: --threads and --iterations must be ≥ 1, --warmup ≥ 0", file=sys.stderr)
        return 2
    try:
        import torch
    except ImportError:
        print("pytorch_reference.py: PyTorch is not installed; "
              "pip install torch --index-url https://download.pytorch.org/whl/cpu", file=sys.stderr)
        return 1
    torch.set_num_threads(args.threads)
    for name, run in CASES.items():
        if args.case and name not in args.case:
            continue
        ms, gflops = run(torch, args.warmup, args.iterations)
        print(json.dumps({"case": name, "ms_per_step": round(ms, 4), "gflops": round(gflops, 4),
                          "cpu_ms_per_step": round(CPU_MS["last"], 4)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
