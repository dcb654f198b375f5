"""Python side of bench/hypervolume.ts: moocore (and optuna where it is fast enough) on the same data.

    python3 bench/hypervolume_baseline.py CONFIG.json     # every case in turn, one JSON result
    python3 bench/hypervolume_baseline.py --session       # driven line by line (bench/hypervolume.ts)

Started by the TS script with the system python3 (or $MOALIGN_PYTHON). On first use it creates a
virtual environment at bench/.venv (git-ignored) with `pip install numpy moocore`, then tries
`pip install optuna` (a failure there is recorded and optuna's column reads "not installed"), and
re-runs itself inside it. Later runs reuse it; delete bench/.venv to rebuild it. pip's output goes
to stderr; stdout carries only JSON.

Config (all paths inside `dir`; every points file is raw little-endian float64, row-major, in
MINIMISATION form, which is moocore's and optuna's convention):

  {"dir": "/tmp/moalign-hv-xxxx", "repeats": 5, "repeatSeconds": 0.2, "budgetSeconds": 10,
   "cases": [
     {"name": "...", "kind": "single", "file": "a.f64", "n": 1000, "m": 4, "ref": [1.1, ...],
      "optuna": true},                             # or a string: the reason it is skipped
     {"name": "...", "kind": "batch", "file": "b.f64", "fronts": 1000, "size": 100, "m": 3, "ref": [...],
      "optuna": true},
     {"name": "...", "kind": "sort", "file": "c.f64", "n": 320000, "m": 2, "ranksFile": "c.ranks.i32"}]}

A session: the config is the first line on stdin; the script answers with one line of versions
(below, without "cases") and then answers each request line with one line:
  {"op": "prepare", "case": i} -> {"calls", "estimateMs"}   the case's data loaded, one untimed call
  {"op": "repeat", "case": i}  -> {"ms"}                     one timed repeat of moocore's call
  {"op": "finish", "case": i}  -> the case's record (below), its repeats' summary included
until stdin ends. The TS side alternates these repeats with its own, so that both libraries are
timed in the same minutes of a machine whose speed drifts. Run with a config file, each case is
prepared, repeated `repeats` times and finished in turn.

Timing: one untimed warm-up call (it also gives an estimate), then repeats of `calls` back-to-back
calls, where `calls` makes a repeat last about `repeatSeconds`; a repeat's figure is its mean per
call, and the median over repeats is reported. A batch call is the whole Python loop over the
fronts (pre-split into a list of arrays, untimed), moocore.hypervolume once per front, the loop's
per-call overhead included. optuna is timed on its own at `finish` (never alternated); it is
skipped when its warm-up call (for batches: the first front times the number of fronts) exceeds
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

from benchvenv import (VENV, create_venv, in_venv, log, pip, prepare_calls, reenter, repeats_within, seconds_of, summary,  # noqa: E402,F401
                       time_calls, timed_repeat, venv_imports, venv_python)

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


class CaseRun:
    """One case: its data, moocore's call on it, and the repeats timed so far."""

    def __init__(self, case: dict, np, moocore, optuna_hv):
        self.case = case
        self.folder = Path(CONFIG["dir"])
        m = case["m"]
        self.data = data = np.fromfile(self.folder / case["file"], dtype="<f8").reshape(-1, m)
        self.np, self.moocore = np, moocore
        ref = np.asarray(case["ref"], dtype=np.float64) if case["kind"] != "sort" else None
        if case["kind"] == "single":
            self.call = lambda: moocore.hypervolume(data, ref=ref)
            self.optuna_call = lambda: optuna_hv(data, ref)
        elif case["kind"] == "batch":
            size = case["size"]
            fronts = [np.ascontiguousarray(data[b * size:(b + 1) * size]) for b in range(case["fronts"])]
            self.call = lambda: [moocore.hypervolume(f, ref=ref) for f in fronts]
            self.optuna_call = lambda: [optuna_hv(f, ref) for f in fronts]
            self.optuna_first = lambda: optuna_hv(fronts[0], ref)
        elif case["kind"] == "sort":
            self.call = lambda: moocore.pareto_rank(data)
        else:
            raise ValueError(f"unknown case kind {case['kind']!r}")
        self.calls, self.value, self.samples = 0, None, []

    def prepare(self) -> dict:
        self.calls, estimate, self.value = prepare_calls(self.call, CONFIG["repeatSeconds"])
        return {"calls": self.calls, "estimateMs": estimate * 1e3}

    def repeat(self) -> dict:
        ms, self.value = timed_repeat(self.call, self.calls)
        self.samples.append(ms)
        return {"ms": ms}

    def finish(self) -> dict:
        case, np, value = self.case, self.np, self.value
        out: dict = {"name": case["name"], "kind": case["kind"],
                     "moocore": {"ms": summary(self.samples), "calls": self.calls, "repeats": len(self.samples)}}
        timing = lambda fn, estimate=None: time_calls(fn, CONFIG["repeats"], CONFIG["repeatSeconds"], CONFIG["budgetSeconds"], estimate)  # noqa: E731
        if case["kind"] == "single":
            out["hv"] = float(value)
            out.update(run_optuna(case, self.optuna_call, timing))
        elif case["kind"] == "batch":
            out["hv"] = [float(v) for v in value]
            out.update(run_optuna(case, self.optuna_call, timing, first=self.optuna_first, count=case["fronts"]))
        else:
            ranks = value.astype("<i4")
            ranks.tofile(self.folder / case["ranksFile"])
            out["fronts"] = int(ranks.max()) + 1 if len(ranks) else 0
            out["nondominated"], mask = timing(lambda: self.moocore.is_nondominated(self.data))
            out["nondominatedCount"] = int(np.count_nonzero(mask))
        line = f"{case['name']}: moocore {out['moocore']['ms']['median']:.3f} ms"
        if "optuna" in out:
            o = out["optuna"]
            line += f", optuna {o['skipped']}" if "skipped" in o else f", optuna {o['ms']['median']:.3f} ms"
        log(line)
        return out

    def run_all(self) -> dict:
        """prepare, the config's repeats (fewer past its budget), finish."""
        prepared = self.prepare()
        for _ in range(repeats_within(CONFIG["repeats"], prepared["estimateMs"] * self.calls, CONFIG["budgetSeconds"])):
            self.repeat()
        return self.finish()


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

    session = sys.argv[1:] == ["--session"]
    if not session and len(sys.argv) != 2:
        raise SystemExit("usage: hypervolume_baseline.py CONFIG.json | --session (config as the first line on stdin)")
    config = json.loads(sys.stdin.readline() if session else Path(sys.argv[1]).read_text())
    config.setdefault("repeats", 5)
    config.setdefault("repeatSeconds", 0.2)
    config.setdefault("budgetSeconds", 10.0)
    CONFIG.update(config)
    log(f"moocore {moocore.__version__}, numpy {np.__version__}, optuna {OPTUNA['version'] or 'absent'}; "
        f"{len(config['cases'])} cases, {config['repeats']} repeats")
    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "moocore": moocore.__version__,
        "optuna": OPTUNA["version"],
        "optunaNote": OPTUNA["note"],
    }
    new_run = lambda i: CaseRun(config["cases"][i], np, moocore, OPTUNA["hv"])  # noqa: E731
    if not session:
        answer({**versions, "cases": [new_run(i).run_all() for i in range(len(config["cases"]))]})
        return
    answer(versions)
    runs: dict[int, CaseRun] = {}
    for line in sys.stdin:
        request = json.loads(line)
        i = request["case"]
        if request["op"] == "prepare":
            runs[i] = new_run(i)
            answer(runs[i].prepare())
        elif request["op"] == "repeat":
            answer(runs[i].repeat())
        elif request["op"] == "finish":
            answer(runs.pop(i).finish())
        else:
            raise SystemExit(f"unknown request {request!r}")


def answer(result: dict) -> None:
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
