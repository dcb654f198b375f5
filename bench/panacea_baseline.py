"""Python side of bench/panacea.ts: one GPT-2 transformer block in PyTorch + transformers, frozen and
with peft LoRA, forward + backward, on the same weights, input and thread count as moalign's.

    python3 bench/panacea_baseline.py [CONFIG.json]      # config on stdin when omitted

Started like bench/engine_baseline.py: with PYTHONPATH pointing at the torch that moalign loads,
re-run inside bench/.venv, which holds transformers and peft (benchvenv.ensure_transformers_venv).
stdout carries only the result, one JSON object; logs go to stderr.

Two actions, chosen by the config's "action":

  {"action": "prepare", "dir": "/tmp/moalign-panacea-xxxx", "seed": 1234,
   "sizes": [{"name": "d768", "dModel": 768, "heads": 12, "batch": 8, "seq": 128}]}

    For each size, a random 1-layer GPT-2 (GPT2Config with that width and head count, vocabulary
    256, n_positions = seq, dropout 0 everywhere; weights from torch.manual_seed(seed)) saved with
    save_pretrained (config.json + model.safetensors) into dir/<name>/, so that moalign loads the
    very same weights; dir/<name>/x.f32, the block's input, and dir/<name>/grad.f32, the upstream
    gradient of its output: both (batch, seq, dModel) standard normal from a seeded generator, raw
    little-endian float32.
    Output: {"python", "torch", "torchFile", "transformers", "peft", "sizes": [{"name", "parameters"}]}

  {"action": "run", "dir": ..., "name": "d768", "threads": 2, "device": "cpu", "batch": 8, "seq": 128,
   "warmup": 2, "repeats": 11, "iterations": 2,
   "lora": {"rank": 10, "alpha": 20, "targets": ["c_attn", "c_proj", "c_fc"], "seed": 1234}}

    Loads dir/<name> twice (from_pretrained, float32, transformers' default attention) and takes
    block 0 of each: "frozen", every parameter frozen; "lora", wrapped by peft LoRA (r, alpha, the
    targets, dropout 0, fan_in_fan_out for GPT-2's Conv1D, init_lora_weights=False so that lora_B
    is not zero and the adapter path computes real values). One call, as moalign's benchmarkBlock:
    out = block(x) with x a leaf that requires grad (attention_mask None: causal SDPA, as moalign),
    out.backward(grad), then x.grad and the LoRA parameters' .grad set to None. `warmup` untimed
    calls per variant, then `repeats` rounds in which each variant runs `iterations` calls in a
    row, timed with perf_counter (after torch.cuda.synchronize() on CUDA): ms per call. The
    variants take turns so that a drift of the machine's speed falls on both alike.
    Output: {"python", "torch", "torchFile", "transformers", "peft", "threads", "device",
             "attnImplementation", "trainable": LoRA parameters,
             "variants": [{"name", "ms": Stats, "outputSum", "inputGradNorm"}]}
    where outputSum and inputGradNorm (the sum of the block's output and the norm of the gradient
    with respect to x, from one more call) let the TS side check that both ran the same block.
    Stats = {"median", "min", "max", "samples"} in ms.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchvenv import answer_actions, hf_versions, log, summary

VOCAB = 256  # the block never sees the embeddings: any vocabulary will do


def quiet_transformers() -> None:
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def prepare(config: dict) -> dict:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    quiet_transformers()
    out = []
    for size in config["sizes"]:
        cfg = GPT2Config(vocab_size=VOCAB, n_positions=size["seq"], n_embd=size["dModel"], n_layer=1, n_head=size["heads"],
                         resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=VOCAB - 1, eos_token_id=VOCAB - 1)
        torch.manual_seed(config["seed"])
        model = GPT2LMHeadModel(cfg)
        target = Path(config["dir"]) / size["name"]
        model.save_pretrained(target, safe_serialization=True)
        g = torch.Generator().manual_seed(config["seed"] + size["dModel"])
        for file in ("x.f32", "grad.f32"):
            t = torch.randn(size["batch"], size["seq"], size["dModel"], generator=g, dtype=torch.float32)  # (B, T, C)
            t.numpy().astype("<f4").tofile(target / file)
        params = sum(p.numel() for p in model.transformer.h[0].parameters())
        log(f"{size['name']}: 1-layer GPT-2, d_model {size['dModel']}, {size['heads']} heads, block of {params:,} parameters -> {target}")
        out.append({"name": size["name"], "parameters": params})
    return {**hf_versions(), "sizes": out}


def run(config: dict) -> dict:
    import numpy as np
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import GPT2LMHeadModel

    quiet_transformers()
    torch.set_num_threads(config["threads"])
    device = torch.device(config["device"])
    folder = Path(config["dir"]) / config["name"]

    def load():
        return GPT2LMHeadModel.from_pretrained(folder, torch_dtype=torch.float32).to(device)

    frozen_model = load()
    frozen_model.requires_grad_(False)
    lora = config["lora"]
    torch.manual_seed(lora["seed"])
    peft_model = get_peft_model(load(), LoraConfig(r=lora["rank"], lora_alpha=lora["alpha"], target_modules=lora["targets"], lora_dropout=0.0,
                                                   bias="none", fan_in_fan_out=True, init_lora_weights=False, task_type="CAUSAL_LM"))
    blocks = {"frozen": frozen_model.transformer.h[0], "lora": peft_model.base_model.model.transformer.h[0]}
    for block in blocks.values():
        block.train()  # as in training; dropout is 0 everywhere
    trainable = {name: [p for p in block.parameters() if p.requires_grad] for name, block in blocks.items()}

    def read(file: str) -> torch.Tensor:  # (B, T, C)
        return torch.from_numpy(np.fromfile(folder / file, dtype="<f4").reshape(config["batch"], config["seq"], -1)).to(device)

    x = read("x.f32").requires_grad_(True)
    grad = read("grad.f32")
    cuda = device.type == "cuda"

    def call(name: str) -> None:
        blocks[name](x).backward(grad)
        x.grad = None
        for p in trainable[name]:
            p.grad = None

    for name in blocks:
        for _ in range(config["warmup"]):
            call(name)
    samples: dict[str, list[float]] = {name: [] for name in blocks}
    for _ in range(config["repeats"]):
        for name in blocks:
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(config["iterations"]):
                call(name)
            if cuda:
                torch.cuda.synchronize()
            samples[name].append((time.perf_counter() - start) * 1e3 / config["iterations"])
    variants = []
    for name, block in blocks.items():
        out = block(x)
        out.backward(grad)
        variants.append({"name": name, "ms": summary(samples[name]), "outputSum": out.sum().item(), "inputGradNorm": x.grad.norm().item()})
        x.grad = None
        log(f"{config['name']} {name}: {variants[-1]['ms']['median']:.2f} ms per forward + backward")
    return {**hf_versions(), "threads": torch.get_num_threads(), "device": str(device),
            "attnImplementation": getattr(frozen_model.config, "_attn_implementation", None),
            "trainable": sum(p.numel() for p in trainable["lora"]), "variants": variants}


def main() -> None:
    answer_actions(__file__, {"prepare": prepare, "run": run})

if __name__ == "__main__":
    main()
