#!/usr/bin/env python3
"""Alternating rounds of `dakit bench` binaries (and PyTorch's reference) on the same cases.

A shared VM's speed drifts by tens of percent within minutes, so one run of each side says little:
this runs every contestant once per round, in turn, for several rounds, writes every result as a
JSON line, and prints a Markdown table of wall (CPU) ms per step, round by round, with the ratio of
each DAKit contestant to PyTorch in the same round (`--table FILE` prints it again from the file).

    swift build -c release
    python3 Benchmarks/alternate.py --rounds 4 --threads 2 --out results.jsonl \\
        --dakit new=.build/release/dakit --dakit 'poll200=.build/release/dakit DAKIT_SPIN_US=200' \\
        --torch --case cnn-lenet-b128 --case mlp-784-256-10-b256

`--dakit LABEL=PATH [VAR=VALUE ...]` names a binary (and environment variables for it); `--torch`
adds Benchmarks/pytorch_reference.py (needs `pip install torch`). Python's standard library only
otherwise.
"""
import argparse
import json
import os
import subprocess
import sys


def run(label, command, env, args, threads):
    command = command + ["--threads", str(threads), "--iterations", str(args.iterations), "--warmup", str(args.warmup)]
    for case in args.case:
        command += ["--case", case]
    finished = subprocess.run(command, env=env, capture_output=True, text=True)
    if finished.returncode != 0:
        sys.exit(f"{label}: {' '.join(command)} exited with {finished.returncode}:\n{finished.stderr.strip()}")
    out = finished.stdout
    results = []
    for line in out.splitlines():
        if line.startswith("{"):
            result = json.loads(line)
            result.update(label=label, threads=threads)
            results.append(result)
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--threads", type=int, action="append", default=[])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--case", action="append", default=[])
    parser.add_argument("--dakit", action="append", default=[], help="LABEL=PATH [VAR=VALUE ...]")
    parser.add_argument("--torch", action="store_true")
    parser.add_argument("--out", help="JSON lines, one per case and run")
    parser.add_argument("--table", help="only print the table of an earlier --out file")
    args = parser.parse_args()
    if args.table:
        table([r for r in map(json.loads, open(args.table)) if "case" in r])
        return
    if not args.out:
        parser.error("name the results file: --out FILE")
    if not args.case:
        parser.error("name at least one --case")
    contestants = []
    for spec in args.dakit:
        label, _, rest = spec.partition("=")
        path, *assignments = rest.split()
        env = dict(os.environ, **dict(a.split("=", 1) for a in assignments))
        contestants.append((label, [path, "bench"], env))
    if args.torch:
        reference = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pytorch_reference.py")
        contestants.append(("pytorch", [sys.executable, reference], dict(os.environ)))
    results = []
    with open(args.out, "w") as out:
        out.write(json.dumps({"loadavg_before": open("/proc/loadavg").read().split()[:3]}) + "\n")
        for round_number in range(1, args.rounds + 1):
            for threads in args.threads or [2]:
                for label, command, env in contestants:
                    for result in run(label, command, env, args, threads):
                        result["round"] = round_number
                        out.write(json.dumps(result) + "\n")
                        out.flush()
                        results.append(result)
        out.write(json.dumps({"loadavg_after": open("/proc/loadavg").read().split()[:3]}) + "\n")
    table(results)


def table(results):
    print("| case | T | contestant | wall (CPU) ms per step, round by round | ÷ PyTorch, same round | GEMM-bound fraction |")
    print("| --- | --- | --- | --- | --- | --- |")
    keys = sorted({(r["case"], r["threads"], r["label"]) for r in results}, key=lambda k: (k[0], k[1], k[2] == "pytorch", k[2]))
    for case, threads, label in keys:
        rows = sorted((r for r in results if (r["case"], r["threads"], r["label"]) == (case, threads, label)), key=lambda r: r["round"])
        cells = ", ".join(f"{r['ms_per_step']:.2f} ({r['cpu_ms_per_step']:.2f})" for r in rows)
        ratios = []
        for r in rows:
            peer = [p for p in results if (p["case"], p["threads"], p["label"], p["round"]) == (case, threads, "pytorch", r["round"])]
            if peer and label != "pytorch":
                ratios.append(f"{r['ms_per_step'] / peer[0]['ms_per_step']:.2f}")
        bound = ", ".join(f"{r['gemm_bound_fraction']:.2f}" for r in rows if "gemm_bound_fraction" in r)
        print(f"| `{case}` | {threads} | {label} | {cells} | {', '.join(ratios) or '—'} | {bound or '—'} |")


if __name__ == "__main__":
    main()
