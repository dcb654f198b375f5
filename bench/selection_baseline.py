"""Python side of bench/selection.ts: ParetoHqD's data selection (paretohqd.md §2–5) in NumPy, with
moocore for the non-dominated sorting, on the same reward files.

    python3 bench/selection_baseline.py [CONFIG.json]      # config on stdin when omitted

Started by the TS script with the system python3 (or $MOALIGN_PYTHON); runs inside bench/.venv
(created by bench/hypervolume_baseline.py's first run, or here: `pip install numpy moocore`).

Config (paths inside `dir`; rewards are raw little-endian float64, row-major, MAXIMISED):

  {"dir": "/tmp/moalign-sel-xxxx", "repeats": 5, "repeatSeconds": 0.5, "budgetSeconds": 20,
   "cases": [{"name": "...", "file": "a.f64", "m": 2, "k": 100, "poolMin": 22000,
              "preferences": [[0, 1], ...], "selectedFile": "a.sel.i32"}]}

The selection, per case (the same arithmetic as native/core/moo/select_pareto_hq.cpp, operation
for operation, so the distances agree bit for bit and the selected indices exactly):

  lo, hi = column min and max
  ranks  = moocore Pareto ranks (0-based), maximising
  L      = the fewest fronts holding >= poolMin points (all when the pool is smaller)
  V      = clip((R[cand] - lo) / (hi - lo), 0, 1) - 1, cand = rows with rank < L
  per ω:  u = (ω - 1) / ||ω - 1||; t = V u; d = ||V - t u|| (sums left to right, column by column)
          the k smallest by (d, front, row): np.partition for the k-th distance, then a lexsort of
          the rows up to it (ties included)

Two ways to rank, each timed as part of a full selection:
  pareto_rank: moocore.pareto_rank, all fronts (moocore has no early stop);
  peel:        moocore.is_nondominated (keep_weakly, so duplicates share a front) on the rows left,
               one front at a time, stopping once poolMin rows are ranked: the early stop in NumPy.
Both must select the same rows. The selected rows (P x k, int32; fewer than k are padded with -1)
of the pareto_rank variant are written to `selectedFile`.

Output: {"python", "numpy", "moocore", "cases": [{"name", "paretoRank": Timing, "peel": Timing,
         "ranksOnly": Timing, "layers", "candidates", "fronts"}]}, Timing = {"ms": Stats, "calls", "repeats"}.
"""

from __future__ import annotations

import json
import math
import platform
import sys
from pathlib import Path

from benchvenv import create_venv, in_venv, log, pip, reenter, time_calls, venv_imports


def ensure_venv() -> None:
    """Re-runs this script in bench/.venv, creating it (numpy, moocore) when it lacks them."""
    if in_venv():
        return
    create_venv()
    if not (venv_imports("numpy") and venv_imports("moocore")):
        if pip("numpy", "moocore").returncode != 0:
            raise SystemExit("pip install numpy moocore failed (see above)")
    reenter(__file__)


def ranks_pareto_rank(R, pool_min, np, moocore):
    return moocore.pareto_rank(R, maximise=True)


def ranks_peel(R, pool_min, np, moocore):
    """Fronts peeled one at a time until pool_min rows are ranked; the rest get a rank past the last."""
    n = len(R)
    ranks = np.full(n, n, dtype=np.int64)
    left = np.arange(n)
    front = ranked = 0
    while ranked < pool_min and len(left) > 0:
        first = moocore.is_nondominated(R[left], maximise=True, keep_weakly=True)
        ranks[left[first]] = front
        ranked += int(np.count_nonzero(first))
        left = left[~first]
        front += 1
    return ranks


def select(R, prefs, k, pool_min, rank, np, moocore):
    m = R.shape[1]
    lo = R.min(axis=0)
    hi = R.max(axis=0)
    spread = hi - lo
    for j in range(m):
        if spread[j] <= 1e-12 * max(1.0, abs(hi[j])):
            raise ValueError(f"objective {j} is constant over the pool")
    ranks = rank(R, pool_min, np, moocore)
    counts = np.bincount(ranks[ranks < len(R)])
    cumulative = np.cumsum(counts)
    layers = min(int(np.searchsorted(cumulative, pool_min)) + 1, len(counts))  # first L with cumulative[L-1] >= pool_min
    cand = np.flatnonzero(ranks < layers)
    front = ranks[cand] + 1
    V = (R[cand] - lo) / spread
    np.clip(V, 0.0, 1.0, out=V)
    V -= 1.0
    columns = [np.ascontiguousarray(V[:, i]) for i in range(m)]
    selected = []
    for w in prefs:
        total = 0.0
        for x in w:
            total += x
        if total != 1.0:
            w = [x / total for x in w]
        norm2 = 0.0
        for x in w:
            norm2 += (x - 1.0) * (x - 1.0)
        norm = math.sqrt(norm2)
        u = [(x - 1.0) / norm for x in w]
        t = columns[0] * u[0]
        for i in range(1, m):
            t += columns[i] * u[i]
        e = columns[0] - t * u[0]
        e2 = e * e
        for i in range(1, m):
            e = columns[i] - t * u[i]
            e2 += e * e
        d = np.sqrt(e2)
        if len(d) > k:
            kth = np.partition(d, k - 1)[k - 1]
            pick = np.flatnonzero(d <= kth)  # the k nearest and every row tied with the k-th
        else:
            pick = np.arange(len(d))
        order = np.lexsort((cand[pick], front[pick], d[pick]))[:k]
        selected.append(cand[pick[order]])
    return selected, layers, len(cand)


def main() -> None:
    ensure_venv()
    import moocore
    import numpy as np

    config = json.loads(Path(sys.argv[1]).read_text() if len(sys.argv) > 1 else sys.stdin.read())
    folder = Path(config["dir"])
    repeats, repeat_s, budget = config["repeats"], config["repeatSeconds"], config["budgetSeconds"]
    log(f"moocore {moocore.__version__}, numpy {np.__version__}; {len(config['cases'])} cases, {repeats} repeats")
    cases = []
    for case in config["cases"]:
        R = np.fromfile(folder / case["file"], dtype="<f8").reshape(-1, case["m"])
        prefs = case["preferences"]
        k, pool_min = case["k"], case["poolMin"]
        out = {"name": case["name"]}
        run = lambda rank: select(R, prefs, k, pool_min, rank, np, moocore)  # noqa: E731
        out["paretoRank"], (full, layers, candidates) = time_calls(lambda: run(ranks_pareto_rank), repeats, repeat_s, budget)
        out["peel"], (peeled, layers_peel, candidates_peel) = time_calls(lambda: run(ranks_peel), repeats, repeat_s, budget)
        out["ranksOnly"], ranks = time_calls(lambda: moocore.pareto_rank(R, maximise=True), repeats, repeat_s, budget)
        if (layers, candidates) != (layers_peel, candidates_peel) or any(not np.array_equal(a, b) for a, b in zip(full, peeled)):
            raise SystemExit(f"{case['name']}: pareto_rank and peeling selected different rows")
        out.update(layers=layers, candidates=candidates, fronts=int(ranks.max()) + 1)
        table = np.full((len(prefs), k), -1, dtype="<i4")
        for p, rows in enumerate(full):
            table[p, : len(rows)] = rows
        table.tofile(folder / case["selectedFile"])
        log(f"{case['name']}: NumPy + pareto_rank {out['paretoRank']['ms']['median']:.1f} ms, "
            f"NumPy + peeling {out['peel']['ms']['median']:.1f} ms, pareto_rank alone {out['ranksOnly']['ms']['median']:.1f} ms; "
            f"L = {layers}, {candidates} candidates, {out['fronts']} fronts in all")
        cases.append(out)
    json.dump({"python": platform.python_version(), "numpy": np.__version__, "moocore": moocore.__version__, "cases": cases}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
