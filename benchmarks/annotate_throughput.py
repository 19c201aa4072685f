"""Annotator throughput: the teacher per backend (docs/s, prompt tokens/s) and the fastText students (MB/s per core).

    python benchmarks/annotate_throughput.py [--docs 24] [--student-docs 1200] [--threads 1] [--no-http]

Documents: real text from the dev corpora + the sample (``student_corpus.documents``; the same mix the students were
trained on). Teacher backends, on the same documents and the edu task (the default ``max_doc_chars`` excerpt):

* ``transformers``: SmolLM2-135M-Instruct in-process on CPU (the GGUF de-quantised to float32), batch 8;
* ``openai-http``: the same GGUF served by llama-cpp-python's OpenAI-compatible server (Q4_1 kernels), a real
  subprocess on loopback, called with concurrency 1, 4 and 8 (needs ``CURATION_LLAMA_SERVER_PYTHON``, see
  ``.ci/llama_server_venv.sh``). Server and client share this machine's cores.

Prompt tokens are counted with the model's tokenizer (chat template included). Students: every bundled student on
the full texts of ``--student-docs`` documents, one thread; MB/s counts the documents' full UTF-8 size (a student
reads only the first ``max_chars`` characters, as its teacher did) and is per core. Ratios are taken in this run.
No GPU is used here.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from student_corpus import documents

from annotators.tasks import annotate_batch, build_task


def teacher_rate(backend, task, docs, tokenizer) -> dict:
    prompts = [task.build_prompt(d["text"], backend, task.presented_order(d["content_hash"])) for d in docs]
    n_tokens = sum(len(tokenizer.encode(p, add_special_tokens=False)) for p in prompts)
    start = time.perf_counter()
    rows = annotate_batch(task, backend, docs)
    seconds = time.perf_counter() - start
    failed = sum(r["status"] != "ok" for r in rows)
    return {"docs_s": len(docs) / seconds, "tok_s": n_tokens / seconds, "seconds": seconds, "failed": failed}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=24, help="documents per teacher measurement")
    parser.add_argument("--student-docs", type=int, default=1200)
    parser.add_argument("--threads", type=int, default=1, help="torch threads / llama.cpp threads")
    parser.add_argument("--max-doc-chars", type=int, default=1500)
    parser.add_argument("--no-http", action="store_true")
    args = parser.parse_args(argv)

    import torch

    from annotators.backends.transformers_local import TransformersBackend
    from annotators.students.fasttext_student import FastTextStudent

    corpus = documents(max(args.docs, args.student_docs), seed=1)
    docs = corpus[: args.docs]
    task = build_task("edu", args.max_doc_chars)
    print(f"teacher: edu task, {len(docs)} documents, excerpt {args.max_doc_chars} chars, {args.threads} thread(s)")
    print("| backend | setting | docs/s | prompt tokens/s | failed |")
    print("|---|---|---|---|---|")
    torch.set_num_threads(args.threads)
    local = TransformersBackend(batch_size=8, torch_threads=args.threads)
    local.chat_prompt("", "warm up")
    tokenizer = local._tokenizer
    annotate_batch(task, local, docs[:2])  # first-call overheads out of the measurement
    results = {"transformers": teacher_rate(local, task, docs, tokenizer)}
    r = results["transformers"]
    print(f"| transformers (CPU, fp32) | batch 8 | {r['docs_s']:.2f} | {r['tok_s']:.0f} | {r['failed']} |")

    if not args.no_http and os.environ.get("CURATION_LLAMA_SERVER_PYTHON"):
        from annotators.backends.openai_http import OpenAIHTTPBackend
        from tests.annotators.llama_server import ALIAS, llama_server

        with llama_server(n_ctx=2048, threads=args.threads) as url:
            warm = OpenAIHTTPBackend(url, model=ALIAS, concurrency=1, timeout_s=300)
            annotate_batch(task, warm, docs[:2])
            warm.close()
            for concurrency in (1, 4, 8):
                http = OpenAIHTTPBackend(url, model=ALIAS, concurrency=concurrency, timeout_s=600)
                r = results[f"http-{concurrency}"] = teacher_rate(http, task, docs, tokenizer)
                http.close()
                print(
                    f"| openai-http → llama-cpp server (Q4_1) | concurrency {concurrency} | {r['docs_s']:.2f} "
                    f"| {r['tok_s']:.0f} | {r['failed']} |"
                )
    else:
        print("| openai-http | skipped: CURATION_LLAMA_SERVER_PYTHON not set | | | |")

    texts = [d["text"] for d in corpus[: args.student_docs]]
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"\nstudents: {len(texts)} documents, {megabytes:.1f} MB, one thread")
    print("| student | docs/s | MB/s per core | × teacher (transformers) docs/s |")
    print("|---|---|---|---|")
    total = 0.0
    for name in ("edu", "domain", "safety"):
        student = FastTextStudent(f"bundled:{name}").load()
        student.predict(texts[:10])
        start = time.perf_counter()
        student.predict(texts)
        seconds = time.perf_counter() - start
        total += seconds
        docs_s = len(texts) / seconds
        ratio = docs_s / results["transformers"]["docs_s"]
        print(f"| {name} ({student.model_id}) | {docs_s:.0f} | {megabytes / seconds:.2f} | {ratio:.0f} × |")
    print(
        f"all three students: {len(texts) / total:.0f} docs/s per core, {megabytes / total:.2f} MB/s per core "
        f"(input of benchmarks/annotate_cost.py)"
    )
    if "http-1" in results:
        best = max((results[k]["docs_s"], k) for k in results if k.startswith("http"))
        print(
            f"\nllama-cpp server best ({best[1]}) / transformers: {best[0] / results['transformers']['docs_s']:.1f} ×"
        )
    print("GPU: none lent to this task (device status can_start_another=false); no GPU numbers measured.")


if __name__ == "__main__":
    main(sys.argv[1:])
