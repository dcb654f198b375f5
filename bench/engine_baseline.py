"""Python side of bench/engine.ts: PyTorch eager and Hugging Face transformers (+ peft) on the same
GPT-2-style models, the same token batches and the same thread count.

    python3 bench/engine_baseline.py [CONFIG.json]      # config on stdin when omitted

Started by the TS script with the system python3 (or $MOALIGN_PYTHON), with PYTHONPATH pointing at
the torch that moalign loads when that is the project-local .libtorch/ install (as for
bench/foundation_baseline.py). On first use it makes sure the virtual environment bench/.venv
(git-ignored, shared with bench/hypervolume_baseline.py) exists and holds transformers and peft
(`pip install transformers peft`, from pip's configured index; torch too when the venv cannot import
one through PYTHONPATH), records that in bench/.venv/moalign-engine-setup.json, and re-runs itself
inside it. Later runs reuse it; delete bench/.venv to rebuild it. pip's output goes to stderr;
stdout carries only the result, one JSON object.

Two actions, chosen by the config's "action":

  {"action": "prepare", "dir": "/tmp/moalign-engine-xxxx", "seed": 1234, "layers": 4, "dModel": 256,
   "heads": 4, "positions": 256, "batch": 8, "seq": 128, "promptLen": 16,
   "models": [{"name": "v256", "vocab": 256}, {"name": "v50257", "vocab": 50257}]}

    Creates each random GPT-2 model (GPT2Config with those sizes, dropout 0 everywhere, bos = eos =
    vocab - 1; weights from torch.manual_seed(seed)) and saves it with save_pretrained (config.json +
    model.safetensors, tied LM head) into dir/<name>/, so that moalign loads the very same weights.
    Writes dir/<name>/batch.i32 (batch x seq token ids) and dir/<name>/prompts.i32 (batch x
    promptLen), raw little-endian int32, uniform over the vocabulary from a seeded generator.
    Output: {"python", "torch", "transformers", "peft", "models": [{"name", "vocab", "parameters"}]}

  {"action": "run", "dir": ..., "threads": 2,
   "cases": [{"name": "...", "kind": "train", "model": "v256", "lora": false, "steps": 7, "warmup": 2,
              "lr": 1e-4, "weightDecay": 0.01, "maxGradNorm": 1.0,
              "loraRank": 8, "loraAlpha": 16, "loraTargets": ["c_attn", "c_proj", "c_fc"]},
             {"name": "...", "kind": "generate", "model": "v256", "maxNewTokens": 128, "warmup": 1,
              "repeats": 5}]}

    Runs every case in a fresh Python process (this script with --case, the case on stdin), so that
    each case's peak memory is its own, and collects their results. (bench/engine.ts sends one case
    per call, right after moalign's run of the same case, so that slow drifts of the machine do not
    fall on one side only.)
    Output: {"python", "torch", "transformers", "peft", "threads", "cases": [CaseResult]}

A case process imports torch, transformers (and peft for LoRA), calls torch.set_num_threads(threads),
records its resident set (VmRSS) as `rssBeforeModelMiB`, loads the model with from_pretrained
(float32, transformers' default attention implementation) and runs:

  train: model.train(); LoRA cases wrap it with peft (LoraConfig r, alpha, target modules, dropout
    0, fan_in_fan_out for GPT-2's Conv1D); torch.optim.AdamW over the trainable parameters with
    default settings except lr (weight decay 0.01, betas (0.9, 0.999), eps 1e-8, the default, i.e.
    for-each/fused off on CPU, implementation). Each step, timed with perf_counter:
    out = model(input_ids=batch, labels=batch) (transformers' shifted causal-LM loss over all
    tokens), out.loss.backward(), clip_grad_norm_(trainable, maxGradNorm), optimizer.step(),
    optimizer.zero_grad(), loss.item(). Every step uses the same batch (as moalign's, whose data
    set is exactly that batch). The first `warmup` steps are not counted in the median.
    CaseResult: {"stepMs": Stats, "losses": [every step], "gradNorms": [every step], "trainable"}
  generate: model.eval(); model.generate(prompts, attention_mask=ones, do_sample=False,
    max_new_tokens=N) with the generation config's eos_token_id = None (no early stop; same as
    moalign's eosIds: []) and pad_token_id = 0 (never used: no padding). `warmup` untimed calls,
    then `repeats` timed ones.
    CaseResult: {"callMs": Stats, "tokensPerSecond": (batch * N) / median seconds, "tokens": [[...]]
                 (the new tokens of the last call, per prompt)}

Every CaseResult also has "name", "threads", "versions", "attnImplementation", "rssBeforeModelMiB" and
"peakRssMiB": VmHWM of the case
process at its end (/proc/self/status; the peak resident set of this process image, which execve
resets, so the parent's size does not leak in). Stats = {"median", "min", "max", "samples"} in ms.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchvenv import answer_actions, hf_versions, log, summary

# ---------------------------------------------------------------- measurements



def proc_status_mib(field: str) -> float | None:
    """A memory line of /proc/self/status (VmRSS, VmHWM) in MiB, or None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


# ---------------------------------------------------------------- prepare: models and data


def prepare(config: dict) -> dict:
    import torch
    import transformers
    from transformers import GPT2Config, GPT2LMHeadModel

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    folder = Path(config["dir"])
    out = []
    for m in config["models"]:
        vocab = m["vocab"]
        cfg = GPT2Config(vocab_size=vocab, n_positions=config["positions"], n_embd=config["dModel"],
                         n_layer=config["layers"], n_head=config["heads"], resid_pdrop=0.0, embd_pdrop=0.0,
                         attn_pdrop=0.0, bos_token_id=vocab - 1, eos_token_id=vocab - 1)
        torch.manual_seed(config["seed"])
        model = GPT2LMHeadModel(cfg)
        target = folder / m["name"]
        model.save_pretrained(target, safe_serialization=True)
        g = torch.Generator().manual_seed(config["seed"] + vocab)
        batch = torch.randint(0, vocab, (config["batch"], config["seq"]), generator=g, dtype=torch.int32)
        prompts = torch.randint(0, vocab, (config["batch"], config["promptLen"]), generator=g, dtype=torch.int32)
        batch.numpy().astype("<i4").tofile(target / "batch.i32")
        prompts.numpy().astype("<i4").tofile(target / "prompts.i32")
        params = sum(p.numel() for p in model.parameters())
        log(f"{m['name']}: GPT-2 {config['layers']} layers, d_model {config['dModel']}, vocab {vocab}, "
            f"{params:,} parameters -> {target}")
        out.append({"name": m["name"], "vocab": vocab, "parameters": params})
    return {**hf_versions(), "models": out}


# ---------------------------------------------------------------- one case, in its own process


def read_i32(path: Path, rows: int):
    import numpy as np
    import torch

    data = np.fromfile(path, dtype="<i4").astype(np.int64)
    return torch.from_numpy(data.reshape(rows, -1))


def run_case(case: dict) -> dict:
    import torch
    import transformers
    from transformers import GPT2LMHeadModel

    if case["kind"] == "train" and case.get("lora"):
        import peft  # noqa: F401  (imported before the baseline, like the rest)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(case["threads"])
    folder = Path(case["dir"]) / case["model"]
    batch_size = case["batch"]
    rss_before = proc_status_mib("VmRSS")
    model = GPT2LMHeadModel.from_pretrained(folder, torch_dtype=torch.float32)
    out: dict = {"name": case["name"], "threads": torch.get_num_threads(), "rssBeforeModelMiB": rss_before,
                 "attnImplementation": getattr(model.config, "_attn_implementation", None), "versions": hf_versions()}

    if case["kind"] == "train":
        batch = read_i32(folder / "batch.i32", batch_size)
        if case.get("lora"):
            from peft import LoraConfig, get_peft_model

            lora = LoraConfig(r=case["loraRank"], lora_alpha=case["loraAlpha"], target_modules=case["loraTargets"],
                              lora_dropout=0.0, bias="none", fan_in_fan_out=True, task_type="CAUSAL_LM")
            torch.manual_seed(case.get("seed", 0))
            model = get_peft_model(model, lora)
        model.train()
        trainable = [p for p in model.parameters() if p.requires_grad]
        out["trainable"] = sum(p.numel() for p in trainable)
        optimizer = torch.optim.AdamW(trainable, lr=case["lr"], weight_decay=case["weightDecay"])
        losses, norms, samples = [], [], []
        for step in range(case["steps"]):
            start = time.perf_counter()
            loss = model(input_ids=batch, labels=batch).loss
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(trainable, case["maxGradNorm"])
            optimizer.step()
            optimizer.zero_grad()
            value = loss.item()
            ms = (time.perf_counter() - start) * 1e3
            losses.append(value)
            norms.append(float(norm))
            if step >= case["warmup"]:
                samples.append(ms)
        out.update(stepMs=summary(samples), losses=losses, gradNorms=norms)
        log(f"{case['name']}: {out['stepMs']['median']:.1f} ms/step, first loss {losses[0]:.6f}")
    elif case["kind"] == "generate":
        prompts = read_i32(folder / "prompts.i32", batch_size)
        mask = torch.ones_like(prompts)
        model.eval()
        gc = model.generation_config
        gc.eos_token_id = None
        gc.pad_token_id = 0
        n = case["maxNewTokens"]

        def call():
            return model.generate(prompts, attention_mask=mask, do_sample=False, max_new_tokens=n,
                                  generation_config=gc)

        for _ in range(case["warmup"]):
            call()
        samples = []
        tokens = None
        for _ in range(case["repeats"]):
            start = time.perf_counter()
            tokens = call()
            samples.append((time.perf_counter() - start) * 1e3)
        if tokens.shape != (batch_size, prompts.shape[1] + n):
            raise RuntimeError(f"generate returned shape {tuple(tokens.shape)}, expected {(batch_size, prompts.shape[1] + n)}")
        stats = summary(samples)
        out.update(callMs=stats, tokensPerSecond=batch_size * n / (stats["median"] / 1e3),
                   tokens=tokens[:, prompts.shape[1]:].tolist())
        log(f"{case['name']}: {stats['median']:.0f} ms per call, {out['tokensPerSecond']:.0f} tokens/s")
    else:
        raise ValueError(f"unknown case kind {case['kind']!r}")
    out["peakRssMiB"] = proc_status_mib("VmHWM")
    return out


def run_all(config: dict) -> dict:
    results = []
    for case in config["cases"]:
        child = {**case, "dir": config["dir"], "threads": config["threads"], "batch": config["batch"]}
        run = subprocess.run([sys.executable, __file__, "--case"], input=json.dumps(child), capture_output=False,
                             stdout=subprocess.PIPE, text=True, check=False)
        if run.returncode != 0:
            raise SystemExit(f"case {case['name']!r} failed (exit {run.returncode}; see above)")
        results.append(json.loads(run.stdout.strip().split("\n")[-1]))
    # The versions the case processes ran with (this process imports neither torch nor transformers).
    return {**results[0]["versions"], "threads": config["threads"], "cases": results}


def main() -> None:
    answer_actions(__file__, {"prepare": prepare, "run": run_all}, case=run_case)

if __name__ == "__main__":
    main()
