"""Python PyTorch side of bench/foundation.ts.

Reads a JSON config (argv[1], else stdin), runs the same cases as the TS script with
PyTorch eager on this machine, and prints one JSON object on stdout. Progress goes to stderr.

Config:
  {"threads": 2, "repeats": 5,
   "matmul": [{"n": 512, "dtype": "float32", "iterations": 100}, ...],
   "autograd": {"n": 256, "steps": 200, "warmup": 40}}

Each matmul repeat mirrors moalign's benchmarkMatmul: fresh randn (n, n) operands, one
untimed product, then `iterations` timed torch.mm(a, b, out=c) under inference_mode.
One extra repeat runs first, untimed, as warm-up. Context switches of the process's threads
(from /proc) are counted over the timed repeats, as on the TS side.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import time

import torch

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def log(message: str) -> None:
    print(f"[python] {message}", file=sys.stderr, flush=True)


def show(x: float | None) -> str:
    return "?" if x is None else f"{x:.2f}"


def summary(samples: list[float]) -> dict:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "samples": samples}


def context_switches() -> int | None:
    """Context switches of this process's live threads so far (Linux /proc), as in the TS script."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return None
    total = 0
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/status") as status:
                for line in status:
                    if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                        total += int(line.split()[1])
        except OSError:
            pass  # the thread exited meanwhile
    return total


def per_unit(before: int | None, after: int | None, units: int) -> float | None:
    return None if before is None or after is None else (after - before) / units


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def matmul_gflops(n: int, dtype: torch.dtype, iterations: int) -> float:
    with torch.inference_mode():
        a = torch.randn(n, n, dtype=dtype)  # (n, n)
        b = torch.randn(n, n, dtype=dtype)  # (n, n)
        c = torch.mm(a, b)  # untimed product, as in moalign's benchmarkMatmul
        start = time.perf_counter()
        for _ in range(iterations):
            torch.mm(a, b, out=c)
        seconds = time.perf_counter() - start
    return 2.0 * n**3 * iterations / seconds / 1e9


def bench_matmul(case: dict, repeats: int) -> dict:
    n, dtype, iterations = case["n"], DTYPES[case["dtype"]], case["iterations"]
    matmul_gflops(n, dtype, iterations)  # warm-up repeat
    switches = context_switches()
    samples = [matmul_gflops(n, dtype, iterations) for _ in range(repeats)]
    switches_per_product = per_unit(switches, context_switches(), iterations * repeats)
    log(f"matmul n={n} {case['dtype']}: {statistics.median(samples):.1f} GFLOP/s, {show(switches_per_product)} context switches per product")
    return {**case, "gflops": summary(samples), "switchesPerProduct": switches_per_product}


def bench_autograd(case: dict, repeats: int) -> dict:
    """Microseconds per step of (A @ B).sum().backward(); gradients accumulate, as in the TS loop."""
    n, steps = case["n"], case["steps"]
    a = torch.randn(n, n, requires_grad=True)  # (n, n)
    b = torch.randn(n, n, requires_grad=True)  # (n, n)

    def run(count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            (a @ b).sum().backward()
        return (time.perf_counter() - start) / count * 1e6

    run(case["warmup"])
    switches, faults = context_switches(), minor_faults()
    samples = [run(steps) for _ in range(repeats)]
    switches_per_step = per_unit(switches, context_switches(), steps * repeats)
    faults_per_step = (minor_faults() - faults) / (steps * repeats)
    log(f"autograd n={n}: {statistics.median(samples):.0f} us/step, per step {show(switches_per_step)} context switches and {faults_per_step:.0f} page faults")
    return {**case, "usPerStep": summary(samples), "switchesPerStep": switches_per_step, "faultsPerStep": faults_per_step}


def main() -> None:
    config = json.loads(sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read())
    threads, repeats = config["threads"], config["repeats"]
    torch.set_num_threads(threads)
    result = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchFile": torch.__file__,
        "threads": torch.get_num_threads(),
        "parallelInfo": torch.__config__.parallel_info(),
        "matmul": [bench_matmul(case, repeats) for case in config.get("matmul", [])],
        "autograd": bench_autograd(config["autograd"], repeats) if "autograd" in config else None,
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
