"""What the Python baselines share: bench/.venv (created once, re-entered with os.execv), pip
installs that go straight to the indexes pip is configured with, the transformers + peft setup and
its versions, logging to stderr, timing and its summary. stdout stays reserved for each script's
JSON result."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"


def log(message: str) -> None:
    print(f"[python] {message}", file=sys.stderr, flush=True)


def venv_python() -> Path:
    return VENV / "bin" / "python"


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def configured_indexes() -> list[str]:
    """--index-url / --extra-index-url from `pip config list`, read at run time: where pip's
    default index is unreachable, naming the configured ones skips minutes of retries."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False).stdout
    urls: list[str] = []
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        if key.endswith("index-url"):  # index-url and extra-index-url, in pip's order
            urls += value.strip().strip("'\"").split()
    # The first becomes the index: otherwise pip still tries its unreachable default first.
    return [arg for i, url in enumerate(urls) for arg in ("--index-url" if i == 0 else "--extra-index-url", url)]


def pip(*packages: str) -> subprocess.CompletedProcess:
    # pip's own output goes to stderr: stdout is reserved for the JSON result.
    return subprocess.run([str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", *configured_indexes(), *packages],
                          stdout=sys.stderr, stderr=sys.stderr, check=False)


def venv_imports(module: str) -> bool:
    return subprocess.run([str(venv_python()), "-c", f"import {module}"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=False).returncode == 0


def create_venv() -> None:
    if not venv_python().exists():
        log(f"creating {VENV} (once; delete it to rebuild)")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], stdout=sys.stderr, check=True)


def reenter(script: str) -> None:
    """Re-runs `script` with the venv's Python (never returns)."""
    os.execv(str(venv_python()), [str(venv_python()), script, *sys.argv[1:]])


def ensure_transformers_venv(script: str) -> None:
    """Makes sure bench/.venv exists with transformers and peft (and torch, when PYTHONPATH brings
    none), recorded in bench/.venv/moalign-engine-setup.json, then re-runs `script` in it (never
    returns outside the venv). For the baselines that need Hugging Face models: engine, panacea."""
    if in_venv():
        return
    marker = VENV / "moalign-engine-setup.json"
    if not marker.exists():
        create_venv()
        torch_from = "PYTHONPATH"
        if not venv_imports("torch"):
            log("the venv sees no torch through PYTHONPATH: pip install torch")
            if pip("torch").returncode != 0:
                raise SystemExit("pip install torch failed (see above)")
            torch_from = "pip"
        log(f"installing transformers and peft into {VENV} (once)")
        if pip("transformers", "peft").returncode != 0:
            raise SystemExit("pip install transformers peft failed (see above)")
        marker.write_text(json.dumps({"torch": torch_from}) + "\n")
    reenter(script)


def hf_versions() -> dict:
    """What a transformers baseline reports it ran with: Python, torch (and its file), transformers, peft."""
    import torch
    import transformers

    try:
        import peft

        peft_version = peft.__version__
    except ImportError:
        peft_version = None
    return {"python": platform.python_version(), "torch": torch.__version__, "torchFile": torch.__file__,
            "transformers": transformers.__version__, "peft": peft_version}


def summary(samples: list[float]) -> dict:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "samples": samples}


def seconds_of(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def prepare_calls(fn, repeat_seconds: float, estimate: float | None = None):
    """(calls, estimate, value): how many back-to-back calls make a repeat last about
    `repeat_seconds`, from one untimed warm-up call (skipped when `estimate`, the seconds of a call
    already made, is given; the value is then None)."""
    value = None
    if estimate is None:
        ms, value = timed_repeat(fn, 1)
        estimate = ms / 1e3
    return max(1, round(repeat_seconds / max(estimate, 1e-9))), estimate, value


def timed_repeat(fn, calls: int):
    """(milliseconds per call, value of the last call) over one repeat of `calls` back-to-back calls."""
    value = None
    start = time.perf_counter()
    for _ in range(calls):
        value = fn()
    return (time.perf_counter() - start) * 1e3 / calls, value


def repeats_within(repeats: int, repeat_ms: float, budget_seconds: float) -> int:
    """`repeats`, or fewer (at least one) where they would take more than `budget_seconds`."""
    return max(1, min(repeats, int(budget_seconds * 1e3 / max(repeat_ms, 1e-6))))


def time_calls(fn, repeats: int, repeat_seconds: float, budget_seconds: float, estimate: float | None = None):
    """(timing, value): the median over repeats of the mean milliseconds per call, after one
    untimed warm-up call (skipped when `estimate`, the seconds of a call already made, is given),
    and the value of the last call."""
    calls, estimate, value = prepare_calls(fn, repeat_seconds, estimate)
    samples = []
    for _ in range(repeats_within(repeats, estimate * 1e3 * calls, budget_seconds)):
        ms, value = timed_repeat(fn, calls)
        samples.append(ms)
    return {"ms": summary(samples), "calls": calls, "repeats": len(samples)}, value


def answer_actions(script: str, actions: dict, case=None) -> None:
    """The main of a baseline script: inside the transformers venv, the JSON config (file argument or
    stdin) names an action of `actions` to run; with `case`, `--case` runs one case from stdin instead.
    The result goes to stdout as one JSON line."""
    ensure_transformers_venv(script)
    if case is not None and sys.argv[1:] == ["--case"]:
        result = case(json.loads(sys.stdin.read()))
    else:
        config = json.loads(Path(sys.argv[1]).read_text() if len(sys.argv) > 1 else sys.stdin.read())
        action = actions.get(config.get("action"))
        if action is None:
            raise SystemExit(f"unknown action {config.get('action')!r} ({' | '.join(actions)})")
        result = action(config)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
