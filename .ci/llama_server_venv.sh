#!/usr/bin/env bash
# Build a separate venv with llama-cpp-python's OpenAI-compatible server, the real server the HTTP annotator backend
# is tested against (tests/annotators/backends/test_openai_http.py). Kept apart from the project venv: it is only ever
# run as a subprocess, as vLLM would be. PyPI ships llama-cpp-python as an sdist only, so this compiles llama.cpp
# (~13 CPU-minutes). GGML_NATIVE=OFF: a portable build, no -march=native surprises on another CPU; LLAVA_BUILD=OFF:
# the multimodal library is not needed (the server imports it only for vision chat formats).
#   usage: .ci/llama_server_venv.sh [VENV_DIR]      (default /tmp/llama-venv); prints the server's python at the end
set -euo pipefail
VENV_DIR="${1:-/tmp/llama-venv}"
PY="${PYTHON:-python3}"
LLAMA_CPP_SPEC="${LLAMA_CPP_SPEC:-llama-cpp-python[server]==0.3.36}"
if [ -x "$VENV_DIR/bin/python" ] && "$VENV_DIR/bin/python" -c "import llama_cpp.server" 2>/dev/null; then
  echo "$VENV_DIR/bin/python"
  exit 0
fi
"$PY" -m venv "$VENV_DIR"
"$VENV_DIR/bin/python" -m pip install --quiet --upgrade pip
CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF}" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
  "$VENV_DIR/bin/python" -m pip install --quiet --no-cache-dir "$LLAMA_CPP_SPEC"
"$VENV_DIR/bin/python" -c "import llama_cpp.server"
echo "$VENV_DIR/bin/python"
