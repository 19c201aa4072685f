"""fastText students on real text: training, held-out agreement, the saved model + sidecar, Annotation rows."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from annotators.students import fasttext_student as ft
from annotators.students.training import Example, fit_and_evaluate, in_test_split, teacher_target
from annotators.tasks import DomainTask, EduScoreTask, SafetyTask
from schemas import ANNOTATION, validate_record

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "data" / "sample" / "text"


def _gold(path: Path) -> list[Example]:
    """Real sample documents with a label each: manual pages → software use, licence texts → law (as JSONL)."""
    out, lines = [], []
    for name, label in (("manpages.jsonl", "software"), ("licenses.jsonl", "crime_law")):
        for line in (SAMPLE / name).read_text(encoding="utf-8").splitlines():
            text = json.loads(line)["text"]
            out.append(Example(hashlib.sha256(text.encode()).hexdigest(), text, label))
            lines.append(json.dumps({"text": text, "label": label}) + "\n")
    path.write_text("".join(lines), encoding="utf-8")
    return out


def _train_cli(labels: Path, out: Path) -> Path:
    """``python -m pipelines.train_student`` in a process of its own, as it is meant to run.

    fastText keeps state across trainings in one process: after a quantised model was made or loaded, a later training
    in the same process can diverge ("Encountered NaN") or give other weights. One training per process avoids it.
    """
    cmd = [sys.executable, "-m", "pipelines.train_student", "--task", "domain", "--labels", str(labels)]
    cmd += ["--out", str(out), "--test-share", "0.3", "--param", "epoch=10"]
    subprocess.run(cmd, check=True, cwd=REPO, capture_output=True, timeout=600)
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("student")
    examples = _gold(root / "gold.jsonl")
    path = _train_cli(root / "gold.jsonl", root / "domain.ftz")
    return examples, ft.StudentInfo.load(f"{path}.json"), path


def test_the_student_learns_a_real_distinction_and_beats_the_majority_baseline(trained):
    examples, info, _ = trained
    assert info.n_train + info.n_test == len(examples) and info.n_test > 20
    assert info.metrics["macro_f1"] > 0.8 > info.metrics["majority_macro_f1"]
    assert info.metrics["accuracy"] > 0.8
    assert info.metrics["train_label_counts"].keys() == {"software", "crime_law"}
    assert info.label_source == "gold:gold.jsonl" and info.params["epoch"] == 10


def test_saved_student_is_small_and_carries_its_sidecar(trained):
    _, info, path = trained
    assert path.stat().st_size < 2_000_000  # quantised
    sidecar = json.loads(Path(f"{path}.json").read_text())
    assert sidecar["task"] == "domain" and sidecar["labels"] == list(DomainTask().labels)
    assert sidecar["metrics"]["macro_f1"] == info.metrics["macro_f1"]
    assert sidecar["params"]["thread"] == 1


def test_student_rows_are_annotations_with_a_full_distribution(trained):
    examples, _, path = trained
    student = ft.FastTextStudent(str(path)).load()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    assert student.model_id == f"fasttext-student/domain@{digest}"
    docs = [{"id": f"d{i}", "content_hash": ex.key, "text": ex.text} for i, ex in enumerate(examples[:3])]
    docs.append({"id": "broken", "content_hash": "h", "text": None})
    rows = student.annotate(DomainTask(), docs)
    assert [r["id"] for r in rows] == [d["id"] for d in docs]
    for row in rows[:3]:
        assert validate_record(row, ANNOTATION) == row
        assert (row["status"], row["backend"], row["model"]) == ("ok", "fasttext", student.model_id)
        assert set(row["distribution"]) == set(DomainTask().labels)
        assert sum(row["distribution"].values()) == pytest.approx(1.0)
        assert row["label"] in {"software", "crime_law"}  # labels it never saw get probability 0
    assert rows[3]["status"] == "failed" and rows[3]["error"].startswith("TypeError")
    with pytest.raises(ValueError, match="trained for task 'domain'"):
        student.annotate(SafetyTask(), docs[:1])


def test_training_is_deterministic(trained, tmp_path):
    _, info, path = trained
    again = _train_cli(path.parent / "gold.jsonl", tmp_path / "domain.ftz")
    assert ft.StudentInfo.load(f"{again}.json").metrics == info.metrics
    assert again.read_bytes() == path.read_bytes()


def test_targets_and_split():
    edu = EduScoreTask()
    assert teacher_target(edu, {"score": 2.5, "label": "0"}) == "3"
    assert teacher_target(edu, {"score": 2.49, "label": "5"}) == "2"
    assert teacher_target(DomainTask(), {"score": 0.4, "label": "travel"}) == "travel"
    keys = [f"k{i}" for i in range(2000)]
    share = sum(in_test_split(k, 0.2) for k in keys) / len(keys)
    assert 0.17 < share < 0.23
    assert [in_test_split(k, 0.2) for k in keys] == [in_test_split(k, 0.2) for k in keys]
    with pytest.raises(ValueError, match="not labels of task"):
        fit_and_evaluate(DomainTask(), [Example("k", "text", "no-such-topic")], 100, "gold:x")


def test_features_are_one_lower_cased_line_of_the_teachers_excerpt():
    text = "First LINE\nsecond   line\n\nthird " + "word " * 500
    line = ft.features(text, 40)
    assert "\n" not in line and line == line.lower() and len(line) <= 40
    assert line.startswith("first line second line third")


@pytest.mark.parametrize("name", ["edu", "domain", "safety"])
def test_bundled_students_load_and_match_their_tasks(name):
    from annotators.tasks.registry import build_task

    student = ft.FastTextStudent(f"bundled:{name}").load()
    task = build_task(name)
    assert student.info.task == name and tuple(student.info.labels) == task.labels
    assert student.info.prompt_version == task.prompt_version
    assert ft.bundled_path(name).stat().st_size < 3_000_000
    (dist,) = student.predict(["Some text about the kernel and its modules."])
    assert sum(dist.values()) == pytest.approx(1.0)
    assert student.info.metrics and student.info.n_test > 0
