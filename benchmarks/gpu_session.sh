#!/bin/bash
# The GPU checks of the pretraining issue in one go (about 8 minutes on one H100), for whoever has a GPU for a while:
#   1. MFU of the 350m preset, with the model's RoPE tables against cos/sin computed in every forward pass
#      (the baseline), both measured here; then the 1b preset;
#   2. a compiled run of the trainer (cpu-tiny, compile: true), stopped after 20 steps and resumed to 30.
# Results go to $OUT (default benchmarks/results/gpu-DATE): mfu_350m/mfu.json, mfu_1b/mfu.json, pretrain_metrics.jsonl.
#   bash benchmarks/gpu_session.sh
set -uo pipefail
OUT=${OUT:-benchmarks/results/gpu-$(date +%F)}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} SPANISH_LLM_PROGRESS=0 TOKENIZERS_PARALLELISM=false
START=$(date +%s); el() { echo $(( $(date +%s) - START )); }
echo "== 1. MFU: 350m, RoPE tables against the per-forward computation; then 1b ($(el) s)"
timeout 300 python benchmarks/gpu_mfu.py --sizes 350m --rope computed,table --compile model --sdpa auto --out "$OUT/mfu_350m"
timeout 150 python benchmarks/gpu_mfu.py --sizes 1b --compile model --sdpa auto --out "$OUT/mfu_1b"
echo "== 2. trainer: a compiled run, then --resume ($(el) s)"
RUN=$(mktemp -d)/run
timeout 90 python -m spanish_llm pretrain --config experiments/configs/cpu-tiny.yaml --set steps=20 --set save_every=10 \
    --set eval_every=10 --set compile=true --out "$RUN" 2>&1 | tail -1
timeout 60 python -m spanish_llm pretrain --config experiments/configs/cpu-tiny.yaml --set steps=30 --set save_every=10 \
    --set eval_every=10 --set compile=true --out "$RUN" --resume 2>&1 | tail -2
cp "$RUN/metrics.jsonl" "$OUT/pretrain_metrics.jsonl" 2>/dev/null
echo "== done ($(el) s): $OUT"
