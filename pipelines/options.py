"""Command-line handling shared by every pipeline: our flags, the run config, and Beam options passed through."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence

from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from pipelines.config import load_config

# The embedded default: the portable FnApiRunner (DirectRunner without its Prism download), one process per core.
LOCAL_DEFAULTS = {"runner": "FnApiRunner", "direct_running_mode": "multi_processing"}


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description, allow_abbrev=False)
    parser.add_argument(
        "--config", default=None, help="run config YAML (local or gs://, s3://); defaults apply beneath it"
    )
    parser.add_argument("--output", default=None, help="output root (overrides run.output in the config)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config value, e.g. --set dedup.minhash.bands=20 (YAML value syntax)",
    )
    return parser


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> tuple[argparse.Namespace, dict, list[str]]:
    """Split argv into our args, the resolved config, and the remaining Beam flags."""
    args, beam_argv = parser.parse_known_args(argv)
    config = load_config(args.config, args.overrides)
    if args.output:
        config["run"]["output"] = args.output
    return args, config, beam_argv


def beam_options(beam_argv: Sequence[str]) -> PipelineOptions:
    """Beam options from the pass-through flags; without --runner, run locally on every core."""
    options = PipelineOptions(list(beam_argv))
    standard = options.view_as(StandardOptions)
    if not standard.runner:
        standard.runner = LOCAL_DEFAULTS["runner"]
        direct = options.view_as(DirectOptions)
        if direct.direct_running_mode == "in_memory":
            direct.direct_running_mode = LOCAL_DEFAULTS["direct_running_mode"]
        if not _given(beam_argv, "direct_num_workers"):  # Beam's default is 1 (one core), not "every core"
            direct.direct_num_workers = os.cpu_count() or 1
    return options


def _given(argv: Sequence[str], flag: str) -> bool:
    """Whether ``--flag`` (``--flag=V`` or ``--flag V``) is among the pass-through Beam flags."""
    return any(a == f"--{flag}" or a.startswith(f"--{flag}=") for a in argv)


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("apache_beam", "root", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("pipelines").setLevel(logging.INFO)  # the root logger is quietened above: ours stay visible
