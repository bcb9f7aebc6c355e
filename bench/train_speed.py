"""How fast does lesson 06's model train on this machine? Prints tokens/s, GFLOP/s and the share of a
large fp32 matrix product's rate, measured in the same run.

The model and the training step are the solution notebook's own (learner-shaped code), at the config
4 layers, 4 heads, 128-dimensional embeddings, context 64, batch 12, on a character stream made from the
course's corpus. Run: `.venv/bin/python bench/train_speed.py [--steps N]`.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from course_lib.corpus import make_corpus
from grader.reference import load_reference

CONFIG = {"n_layers": 4, "n_heads": 4, "d_model": 128, "context_length": 64, "batch_size": 12}


def character_stream() -> tuple[torch.Tensor, int]:
    text = "\n".join(" ".join(sentence.words) for sentence in make_corpus(seed=0).train)
    alphabet = sorted(set(text))
    index = {char: i for i, char in enumerate(alphabet)}
    return torch.tensor([index[char] for char in text]), len(alphabet)


def flops_per_token(model: nn.Module, n_layers: int, d_model: int, context_length: int) -> float:
    """Forward + backward FLOPs per trained token, counted as nanoGPT and the PaLM paper do: 6 per weight of
    every matrix product, plus the attention scores and the weighted sum of values."""
    matmul_weights = sum(module.weight.numel() for module in model.modules() if isinstance(module, nn.Linear))
    return 6 * matmul_weights + 12 * n_layers * d_model * context_length


def matmul_gflops(size: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b  # warm-up
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()

    torch.manual_seed(0)
    lesson = load_reference("06_gpt")
    data, vocab_size = character_stream()
    c = CONFIG
    model = lesson["GPT"](
        vocab_size, c["context_length"], c["d_model"], c["n_heads"], c["n_layers"], 4 * c["d_model"]
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()

    def step() -> float:
        starts = torch.randint(len(data) - c["context_length"] - 1, (c["batch_size"],))
        x, y = lesson["get_batch"](data, starts, c["context_length"])
        return lesson["train_step"](model, optimizer, x, y)

    for _ in range(args.warmup):
        step()
    started = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    seconds = time.perf_counter() - started

    tokens_per_second = args.steps * c["batch_size"] * c["context_length"] / seconds
    achieved = (
        tokens_per_second * flops_per_token(model, c["n_layers"], c["d_model"], c["context_length"]) / 1e9
    )
    peak = matmul_gflops()
    print(
        f"config: {c}, vocabulary {vocab_size} characters, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(f"{args.steps} steps in {seconds:.2f} s (loss {loss:.3f})")
    print(f"tokens/s:               {tokens_per_second:,.0f}")
    print(f"training GFLOP/s:       {achieved:.1f}")
    print(f"fp32 matmul GFLOP/s:    {peak:.1f}")
    print(f"share of matmul rate:   {achieved / peak:.0%}")


if __name__ == "__main__":
    main()
