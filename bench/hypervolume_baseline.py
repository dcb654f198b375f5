"""Python side of bench/hypervolume.ts: moocore (and optuna where it is fast enough) on the same data.

    python3 bench/hypervolume_baseline.py [CONFIG.json]      # config on stdin when omitted

Started by the TS script with the system python3 (or $MOALIGN_PYTHON). On first use it creates a
virtual environment at bench/.venv (git-ignored) with `pip install numpy moocore`, then tries
`pip install optuna` (a failure there is recorded and optuna's column reads "not installed"), and
re-runs itself inside it. Later runs reuse it; delete bench/.venv to rebuild it. pip's output goes
to stderr; stdout carries only the result, one JSON object.

Config (all paths inside `dir`; every points file is raw little-endian float64, row-major, in
MINIMISATION form, which is moocore's and optuna's convention):

  {"dir": "/tmp/moalign-hv-xxxx", "repeats": 5, "repeatSeconds": 0.2, "budgetSeconds": 10,
   "cases": [
     {"name": "...", "kind": "single", "file": "a.f64", "n": 1000, "m": 4, "ref": [1.1, ...],
      "optuna": true},                             # or a string: the reason it is skipped
     {"name": "...", "kind": "batch", "file": "b.f64", "fronts": 1000, "size": 100, "m": 3, "ref": [...],
      "optuna": true},
     {"name": "...", "kind": "sort", "file": "c.f64", "n": 320000, "m": 2, "ranksFile": "c.ranks.i32"}]}

Timing, per library and case: one untimed warm-up call (it also gives an estimate), then `repeats`
repeats of `calls` back-to-back calls, where `calls` makes a repeat last about `repeatSeconds`; a
repeat's figure is its mean per call, and the median over repeats is reported. A case whose
estimate says the repeats would exceed `budgetSeconds` gets fewer repeats (at least one). A batch
call is the whole Python loop over the fronts (pre-split into a list of arrays, untimed),
moocore.hypervolume once per front, the loop's per-call overhead included. optuna is skipped when
its warm-up call (for batches: the first front times the number of fronts) exceeds
`budgetSeconds`, and measured by that one call alone when it exceeds a quarter of it. moocore is
single-threaded; so is optuna's hypervolume.

Output: {"python", "numpy", "moocore", "optuna" (version or null), "optunaNote",
         "cases": [{"name", "kind", "moocore": {"ms": Stats, "calls", "repeats"}, "hv": float | [float],
                    "optuna": {"ms": Stats, ...} | {"skipped": reason}, "optunaHv": ...,
                    (sort) "nondominated": {"ms": Stats, ...}, "nondominatedCount", "fronts"}]}
Stats = {"median", "min", "max", "samples"} in milliseconds. For sort cases moocore.pareto_rank's
ranks (0-based, minimisation) are written as int32 to `ranksFile` for the TS side to compare.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchvenv import VENV, create_venv, in_venv, log, pip, reenter, seconds_of, summary, time_calls, venv_imports, venv_python  # noqa: E402,F401

MARKER = VENV / "moalign-setup.json"


def ensure_venv() -> None:
    """Creates bench/.venv once (numpy, moocore, then optuna if it installs) and re-runs this script in it."""
    if in_venv():
        return
    if not MARKER.exists():
        create_venv()
        if pip("numpy", "moocore").returncode != 0:
            raise SystemExit("pip install numpy moocore failed (see above)")
        optuna = pip("optuna")
        note = None if optuna.returncode == 0 else f"pip install optuna failed (exit {optuna.returncode})"
        if note:
            log(f"{note}: the optuna column will be empty")
        MARKER.write_text(json.dumps({"optunaNote": note}) + "\n")
    reenter(__file__)


# ---------------------------------------------------------------- cases


def run_case(case: dict, config: dict, np, moocore, optuna_hv) -> dict:
    folder = Path(config["dir"])
    m = case["m"]
    data = np.fromfile(folder / case["file"], dtype="<f8").reshape(-1, m)
    repeats, repeat_s, budget = config["repeats"], config["repeatSeconds"], config["budgetSeconds"]
    timing = lambda fn, estimate=None: time_calls(fn, repeats, repeat_s, budget, estimate)  # noqa: E731
    out: dict = {"name": case["name"], "kind": case["kind"]}

    if case["kind"] == "single":
        ref = np.asarray(case["ref"], dtype=np.float64)
        out["moocore"], hv = timing(lambda: moocore.hypervolume(data, ref=ref))
        out["hv"] = float(hv)
        out.update(run_optuna(case, lambda: optuna_hv(data, ref), timing))
    elif case["kind"] == "batch":
        ref = np.asarray(case["ref"], dtype=np.float64)
        size = case["size"]
        fronts = [np.ascontiguousarray(data[b * size:(b + 1) * size]) for b in range(case["fronts"])]
        out["moocore"], hv = timing(lambda: [moocore.hypervolume(f, ref=ref) for f in fronts])
        out["hv"] = [float(v) for v in hv]
        out.update(run_optuna(case, lambda: [optuna_hv(f, ref) for f in fronts], timing,
                              first=lambda: optuna_hv(fronts[0], ref), count=len(fronts)))
    elif case["kind"] == "sort":
        out["moocore"], ranks = timing(lambda: moocore.pareto_rank(data))
        ranks = ranks.astype("<i4")
        ranks.tofile(folder / case["ranksFile"])
        out["fronts"] = int(ranks.max()) + 1 if len(ranks) else 0
        out["nondominated"], mask = timing(lambda: moocore.is_nondominated(data))
        out["nondominatedCount"] = int(np.count_nonzero(mask))
    else:
        raise ValueError(f"unknown case kind {case['kind']!r}")

    line = f"{case['name']}: moocore {out['moocore']['ms']['median']:.3f} ms"
    if "optuna" in out:
        o = out["optuna"]
        line += f", optuna {o['skipped']}" if "skipped" in o else f", optuna {o['ms']['median']:.3f} ms"
    log(line)
    return out


def run_optuna(case: dict, call, timing, first=None, count: int = 1) -> dict:
    """optuna's timing and value, or the reason it was skipped (config, not installed, or too slow).
    `first` (batches): one front, whose time times `count` estimates the whole loop."""
    if case.get("optuna") is not True:
        return {"optuna": {"skipped": str(case.get("optuna") or "not run")}}
    if OPTUNA["hv"] is None:
        return {"optuna": {"skipped": "not installed"}}
    budget = CONFIG["budgetSeconds"]
    if first is not None:
        estimate = seconds_of(first) * count
        if estimate > budget:
            return {"optuna": {"skipped": f"too slow (≈{estimate:.0f} s estimated)"}}
        timed, values = timing(call)
        return {"optuna": timed, "optunaHv": [float(v) for v in values]}
    start = time.perf_counter()
    value = call()  # the warm-up call, which also says how slow optuna is here
    first_s = time.perf_counter() - start
    if first_s > budget:
        return {"optuna": {"skipped": f"too slow ({first_s:.0f} s per call)"}}
    if first_s > budget / 4:  # too slow for repeats: that single call is the measurement
        return {"optuna": {"ms": summary([first_s * 1e3]), "calls": 1, "repeats": 1}, "optunaHv": float(value)}
    timed, value = timing(call, estimate=first_s)
    return {"optuna": timed, "optunaHv": float(value)}


OPTUNA: dict = {"hv": None, "version": None, "note": None}
CONFIG: dict = {}


def main() -> None:
    ensure_venv()
    import moocore
    import numpy as np

    try:
        import optuna
        from optuna._hypervolume import compute_hypervolume  # optuna 5: minimisation, (loss_vals, reference_point)

        OPTUNA.update(hv=compute_hypervolume, version=optuna.__version__)
    except ImportError as err:
        note = json.loads(MARKER.read_text()).get("optunaNote") if MARKER.exists() else None
        OPTUNA["note"] = note or f"optuna not importable: {err}"
        log(OPTUNA["note"])

    config = json.loads(Path(sys.argv[1]).read_text() if len(sys.argv) > 1 else sys.stdin.read())
    config.setdefault("repeats", 5)
    config.setdefault("repeatSeconds", 0.2)
    config.setdefault("budgetSeconds", 10.0)
    CONFIG.update(config)
    log(f"moocore {moocore.__version__}, numpy {np.__version__}, optuna {OPTUNA['version'] or 'absent'}; "
        f"{len(config['cases'])} cases, {config['repeats']} repeats")
    cases = [run_case(case, config, np, moocore, OPTUNA["hv"]) for case in config["cases"]]
    result = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "moocore": moocore.__version__,
        "optuna": OPTUNA["version"],
        "optunaNote": OPTUNA["note"],
        "cases": cases,
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
