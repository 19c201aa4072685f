"""Run a command and measure its whole process tree: wall, CPU seconds, peak RSS of the tree, cores in use.

Beam's local runner forks SDK workers, so ``/usr/bin/time``'s max RSS (one process) understates memory; here the
tree is sampled every ``interval`` seconds and the RSS of all live processes is summed.

    python benchmarks/proc_tree.py -- python -m pipelines.curate --config c.yaml --output /tmp/o
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass

import psutil


@dataclass
class TreeUsage:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    returncode: int

    @property
    def cores(self) -> float:
        """Average number of cores busy over the run."""
        return self.cpu_s / self.wall_s if self.wall_s else 0.0


def run_measured(cmd: list[str], interval: float = 0.5, **popen) -> TreeUsage:
    """Run ``cmd`` to completion; CPU time counts finished children too (their last sample is kept)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, **popen)
    root = psutil.Process(proc.pid)
    cpu_by_pid: dict[int, float] = {}
    peak = 0
    while proc.poll() is None:
        rss = 0
        try:
            members = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for p in members:
            try:
                with p.oneshot():
                    rss += p.memory_info().rss
                    t = p.cpu_times()
                    cpu_by_pid[p.pid] = t.user + t.system
            except psutil.NoSuchProcess:
                continue
        peak = max(peak, rss)
        time.sleep(interval)
    proc.wait()
    wall = time.perf_counter() - t0
    return TreeUsage(wall, sum(cpu_by_pid.values()), peak / 1e6, proc.returncode)


def main() -> None:
    cmd = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:]
    usage = run_measured(cmd)
    print(
        f"rc={usage.returncode} wall={usage.wall_s:.1f}s cpu={usage.cpu_s:.1f}s cores={usage.cores:.2f} "
        f"peak_rss={usage.peak_rss_mb:.0f}MB",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
