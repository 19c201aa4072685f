"""The documented DataflowRunner / FlinkRunner / SparkRunner / PortableRunner commands (docs/operations.md), built
locally without submitting anything: options parsed and validated by Beam, every pipeline's graph constructed and
translated to the runner API with the runner's worker environment. And the worker image definition, as far as it
can be checked without Docker (docker/Dockerfile, docker/entrypoint-gpu.sh)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PortableOptions, StandardOptions, WorkerOptions
from apache_beam.options.pipeline_options_validator import PipelineOptionsValidator
from apache_beam.runners.portability.portable_runner import PortableRunner
from apache_beam.runners.runner import create_runner
from apache_beam.transforms import environments

from curation.model_store import KNOWN_MODELS
from curation.text.normalize import content_hash
from pipelines.config import load_config
from pipelines.options import beam_options
from pipelines.run import BUILDERS, PIPELINES, factory_parser
from schemas import ANNOTATION, DOCUMENT, to_table

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "operations.md"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
ENTRYPOINT = ROOT / "docker" / "entrypoint-gpu.sh"
DOCKER_URN = "beam:env:docker:v1"
LOOPBACK_URN = "beam:env:embedded_python_loopback:v1"  # the workers live in the launching process


def documented_commands() -> dict[str, list[str]]:
    """``<!-- runner: NAME -->`` + the fenced bash block after it → argv after ``python -m pipelines.run``."""
    text = DOCS.read_text()
    found = {}
    for name, block in re.findall(r"<!-- runner: ([\w-]+) -->\s*```bash\n(.*?)```", text, re.S):
        argv = shlex.split(block.replace("\\\n", " "))
        assert argv[:3] == ["python", "-m", "pipelines.run"], block
        found[name] = argv[3:]
    return found


COMMANDS = documented_commands()


def _fake_stage_inputs(out: Path) -> None:
    """One valid row where annotate and mix read (their sources validate the pattern when the graph is built)."""
    text = "Photosynthesis converts light into chemical energy."
    doc = {
        "id": "d1", "text": text, "source": "s", "locator": "d1", "lang": "eng_Latn", "lang_score": 1.0,
        "script": "Latn", "content_hash": content_hash(text), "n_chars": len(text), "n_tokens": 9, "meta": {},
        "quality": None, "dedup_cluster": None, "dedup_cluster_size": None,
    }  # fmt: skip
    (out / "curated").mkdir(parents=True)
    pq.write_table(to_table([doc], DOCUMENT), out / "curated" / "documents-00000-of-00001.parquet")
    ann = {
        "id": "d1", "content_hash": doc["content_hash"], "task": "edu", "status": "ok", "label": "3", "score": 3.0,
        "distribution": [("3", 1.0)], "model": "m", "prompt_version": "v", "backend": "b", "error": None,
    }  # fmt: skip
    (out / "annotations").mkdir()
    pq.write_table(to_table([ann], ANNOTATION), out / "annotations" / "edu-00000-of-00001.parquet")


def test_the_operations_guide_documents_every_runner():
    assert {"dataflow", "dataflow-gpu", "flink", "spark", "portable-local"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_documented_runner_command_builds_options_and_every_graph(name, tmp_path):
    args, beam_argv = factory_parser().parse_known_args(COMMANDS[name])
    config = load_config(str(ROOT / args.config) if args.config else None, args.overrides)
    documented_output = args.output
    assert documented_output.startswith(("gs://", "s3://")) or name == "portable-local"
    out = tmp_path / "out"  # the graph is built against local stand-ins of the stage inputs (no bucket offline)
    _fake_stage_inputs(out)
    config["run"]["output"] = str(out)
    config["dedup"]["max_rounds"] = 2  # fewer unrolled connected-component rounds: same transforms, quicker to build
    options = beam_options(beam_argv)
    runner_name = options.view_as(StandardOptions).runner
    runner = create_runner(runner_name)
    assert PipelineOptionsValidator(options, runner).validate() == []

    if runner_name == "DataflowRunner":
        image = options.view_as(WorkerOptions).sdk_container_image
        environment = environments.DockerEnvironment.from_container_image(image)
        assert "use_runner_v2" in options.get_all_options()["experiments"]
        if name == "dataflow-gpu":
            service = ";".join(options.get_all_options()["dataflow_service_options"] or [])
            assert "worker_accelerator=type:nvidia" in service and "install-nvidia-driver" in service
            assert image.endswith("worker-gpu:1") and config["annotate"]["backend"] == "openai-http"
            assert config["annotate"]["http"]["base_url"].startswith("http://localhost:")
    else:
        environment = PortableRunner._create_environment(options)
        if options.view_as(PortableOptions).environment_type == "DOCKER":
            assert isinstance(environment, environments.DockerEnvironment)
            assert environment.container_image.endswith("worker:1")

    selected = (args.pipelines or ",".join(PIPELINES)).split(",")
    for stage in selected:
        pipeline = beam.Pipeline(runner=runner, options=options)
        BUILDERS[stage](pipeline, config)
        proto = pipeline.to_runner_api(default_environment=environment)
        labels = {t.unique_name for t in proto.components.transforms.values()}
        expected = {"curate": "WriteDocuments", "annotate": "WriteCounts", "mix": "BuildStageShards"}[stage]
        assert any(label.startswith(expected) for label in labels), (stage, sorted(labels)[:20])
        envs = {t.environment_id for t in proto.components.transforms.values() if t.environment_id}
        urns = {proto.components.environments[e].urn for e in envs}
        assert urns == {DOCKER_URN if isinstance(environment, environments.DockerEnvironment) else LOOPBACK_URN}


# ---------------------------------------------------------------------------------------------- worker image


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            rows.append((instruction.upper(), rest.strip()))
    return rows


def test_worker_image_matches_the_project_and_bakes_in_tools_and_models():
    rows = _dockerfile()
    args = dict(a.split("=", 1) for i, a in rows if i == "ARG" and "=" in a)
    beam_pin = re.search(r"apache-beam>=(\d+\.\d+)", (ROOT / "pyproject.toml").read_text()).group(1)
    assert args["BEAM_VERSION"].startswith(beam_pin + ".")
    assert args["PYTHON_VERSION"] == "3.11"
    froms = [a for i, a in rows if i == "FROM"]
    assert froms[0] == "apache/beam_python${PYTHON_VERSION}_sdk:${BEAM_VERSION} AS cpu"
    assert froms[1] == "cpu AS gpu"
    for instruction, arg in rows:  # every COPY source exists in the build context
        if instruction == "COPY":
            for src in shlex.split(arg)[:-1]:
                assert (ROOT / src).exists(), src
    run = " ".join(a for i, a in rows if i == "RUN")
    ci_langs = set(re.findall(r"tesseract-ocr-[\w-]+", (ROOT / ".ci" / "run").read_text()))
    assert ci_langs <= set(re.findall(r"tesseract-ocr-[\w-]+", run))
    assert "python -m pipelines.models" in run and set(KNOWN_MODELS) >= {"lid.176", "smollm2-135m-instruct"}
    envs = " ".join(a for i, a in rows if i == "ENV")
    assert "FACTORY_MODEL_DIR=/opt/models" in envs  # what curation.model_store reads
    assert "python -m venv /opt/vllm" in run  # vLLM apart from the Beam environment
    entrypoints = [a for i, a in rows if i == "ENTRYPOINT"]
    assert entrypoints == ['["/opt/apache/beam/boot"]', '["/opt/curation-factory/entrypoint-gpu.sh"]']
    served = re.search(r"VLLM_SERVED_NAME=(\S+)", envs).group(1)
    assert served in KNOWN_MODELS  # the name annotate.model asks the server for


def test_gpu_entrypoint_starts_vllm_then_hands_over_to_the_beam_boot():
    assert os.access(ENTRYPOINT, os.X_OK)
    subprocess.run(["bash", "-n", str(ENTRYPOINT)], check=True)
    if shutil.which("shellcheck"):
        subprocess.run(["shellcheck", str(ENTRYPOINT)], check=True)
    lines = [ln.strip() for ln in ENTRYPOINT.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    serve = next(i for i, ln in enumerate(lines) if "/opt/vllm/bin/vllm serve" in ln)
    health = next(i for i, ln in enumerate(lines) if "/health" in ln)
    assert serve < health and lines[-1] == 'exec /opt/apache/beam/boot "$@"'


def test_entrypoint_fails_fast_when_vllm_cannot_start(tmp_path):
    """Run the real script with a stand-in ``vllm`` that exits at once: it must report and exit non-zero, not hang."""
    script = ENTRYPOINT.read_text().replace("/opt/vllm/bin/vllm", str(tmp_path / "vllm"))
    script = script.replace("LOG=/var/log/vllm.log", f"LOG={tmp_path}/vllm.log")
    (tmp_path / "vllm").write_text("#!/bin/sh\necho 'CUDA driver not found' >&2\nexit 3\n")
    (tmp_path / "vllm").chmod(0o755)
    (tmp_path / "entry.sh").write_text(script)
    env = {**os.environ, "VLLM_MODEL": "m", "VLLM_SERVED_NAME": "s", "VLLM_PORT": "9", "VLLM_STARTUP_S": "20"}
    done = subprocess.run(["bash", str(tmp_path / "entry.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "vllm serve exited during startup" in done.stderr
    assert "CUDA driver not found" in done.stderr
