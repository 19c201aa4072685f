"""Cost model: GPU-hours and CPU-hours to label a corpus with teacher-on-sample + student-on-all, three tasks.

    python benchmarks/annotate_cost.py --student-docs-per-core-s 2400 [--gpu-prompt-tokens-s 25000] [...]

Inputs marked ASSUMPTION are not measured here (no GPU is lent to this task); the student rate and the prompt length
come from ``annotate_throughput.py`` on this machine. The peer is FineWeb-Edu's published cost: 6,000 H100-hours to
run its (BERT-sized) classifier over 15T tokens, i.e. a GPU model on every document.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=float, default=30e12, help="corpus size in tokens")
    parser.add_argument("--tokens-per-doc", type=float, default=700, help="ASSUMPTION: FineWeb-like web documents")
    parser.add_argument("--tasks", type=int, default=3, help="edu, domain, safety")
    parser.add_argument("--sample-docs", type=float, default=1e6, help="ASSUMPTION: teacher-labelled docs per task")
    parser.add_argument("--prompt-tokens", type=float, required=True, help="measured mean teacher prompt length")
    parser.add_argument(
        "--gpu-prompt-tokens-s",
        type=float,
        default=25_000,
        help="ASSUMPTION: vLLM prefill throughput of a 7-8B teacher on one H100 with max_tokens=1",
    )
    parser.add_argument("--student-docs-per-core-s", type=float, required=True, help="measured, all three students")
    parser.add_argument("--fineweb-h100-hours", type=float, default=6000, help="FineWeb-Edu: per 15T tokens")
    args = parser.parse_args(argv)

    docs = args.tokens / args.tokens_per_doc
    teacher_tokens = args.sample_docs * args.tasks * args.prompt_tokens
    gpu_hours = teacher_tokens / args.gpu_prompt_tokens_s / 3600
    cpu_hours = docs / args.student_docs_per_core_s / 3600
    fineweb = args.fineweb_h100_hours * args.tokens / 15e12
    print(f"corpus: {args.tokens:.3g} tokens ≈ {docs:.3g} documents of {args.tokens_per_doc:.0f} tokens")
    print("| part | work | rate | cost |")
    print("|---|---|---|---|")
    print(
        f"| teacher on sample (GPU) | {args.sample_docs:.3g} docs × {args.tasks} tasks × {args.prompt_tokens:.0f} "
        f"prompt tokens = {teacher_tokens:.3g} tokens | {args.gpu_prompt_tokens_s:,.0f} tokens/s/H100 (assumed) "
        f"| {gpu_hours:,.0f} H100-hours |"
    )
    print(
        f"| students on all (CPU) | {docs:.3g} docs × {args.tasks} students "
        f"| {args.student_docs_per_core_s:,.0f} docs/s/core for all {args.tasks} (measured) "
        f"| {cpu_hours:,.0f} core-hours |"
    )
    peer = "FineWeb-Edu classifier on all (GPU), same corpus"
    print(f"| {peer} | | {args.fineweb_h100_hours:,.0f} H100-h / 15T tokens | {fineweb:,.0f} H100-hours |")
    print(f"\nGPU-hours: ours / FineWeb-Edu = {gpu_hours / fineweb:.4f} ({fineweb / gpu_hours:,.0f} × fewer)")
    for price_gpu, price_core in ((2.0, 0.02), (3.0, 0.05)):
        ours = gpu_hours * price_gpu + cpu_hours * price_core
        theirs = fineweb * price_gpu
        print(
            f"at ${price_gpu:.2f}/H100-h and ${price_core:.2f}/core-h (ASSUMPTION): ours ${ours:,.0f} vs "
            f"FineWeb-Edu-style ${theirs:,.0f} ({theirs / ours:.1f} ×)"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
