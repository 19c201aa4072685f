#!/usr/bin/env bash
# GPU worker entrypoint: start `vllm serve` beside the Beam SDK harness, wait until it answers, then hand over to the
# Beam boot binary with the runner's arguments. If vLLM dies later, the annotate DoFn's HTTP retries fail and the
# rows become `failed` (retried on the next run from the label cache), so the worker itself keeps going.
set -euo pipefail
: "${VLLM_MODEL:?}" "${VLLM_SERVED_NAME:?}" "${VLLM_PORT:=8000}" "${VLLM_STARTUP_S:=900}"
LOG=/var/log/vllm.log
# shellcheck disable=SC2086  # VLLM_ARGS is a flag list
/opt/vllm/bin/vllm serve "$VLLM_MODEL" --served-model-name "$VLLM_SERVED_NAME" \
  --host 127.0.0.1 --port "$VLLM_PORT" ${VLLM_ARGS:-} >"$LOG" 2>&1 &
VLLM_PID=$!
deadline=$((SECONDS + VLLM_STARTUP_S))
until curl -sf "http://127.0.0.1:${VLLM_PORT}/health" >/dev/null; do
  if ! kill -0 "$VLLM_PID" 2>/dev/null; then
    echo "vllm serve exited during startup:" >&2
    tail -n 80 "$LOG" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "vllm serve not healthy after ${VLLM_STARTUP_S} s" >&2
    tail -n 80 "$LOG" >&2
    exit 1
  fi
  sleep 2
done
echo "vllm serve up on port ${VLLM_PORT} (${VLLM_SERVED_NAME})" >&2
exec /opt/apache/beam/boot "$@"
