#!/usr/bin/env bash
# The offline path from a language model to the explorer (`make lm-demo`):
# train a small GPT-2 on dict-gcide (scripts/train_lm.py), export every
# layer of it and of its untrained initialisation on the held-out text,
# embed each with the neuron embedding and the pre-MLP ablation, build the
# trained model's site and write Foote's Table 1 (scripts/table1.py).
#   usage: scripts/lm_demo.sh OUT [--quick | --trained]
#   --quick: the test's seconds-long version; --trained: OUT already holds
#   train_lm.py's output, only the steps after training run.
# Environment: PY (the interpreter; the Makefile's), MONOLAB (the binary),
# PYDEPS (the pinned Hugging Face stack), TOKENS (exported tokens per model).
set -euo pipefail
out=${1:?usage: scripts/lm_demo.sh OUT [--quick | --trained]}
quick=${2:-}
train=1
if [ "$quick" = --trained ]; then quick= train=0; fi
here=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-/usr/bin/python3}
MONOLAB=${MONOLAB:-$here/build/monolab}
export PYTHONPATH=${PYDEPS:-$here/build/pydeps}${PYTHONPATH:+:$PYTHONPATH}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
if [ "$quick" = --quick ]; then tokens=${TOKENS:-4096} ctx=32; else tokens=${TOKENS:-131072} ctx=64; fi

mkdir -p "$out"
[ "$train" = 1 ] && "$PY" "$here/scripts/train_lm.py" -o "$out" $quick
layers=$("$PY" -c "import json, sys; print(json.load(open(sys.argv[1]))['config']['n_layer'] - 1)" "$out/lm.json")
sites=()
for m in model random; do
  "$PY" "$here/scripts/export_activations.py" --model "$out/$m" --text "$out/heldout.txt" --layers "0-$layers" \
    --tokens "$tokens" --ctx "$ctx" --device cpu --backend transformers -o "$out/acts_$m"
  for L in $(seq 0 "$layers"); do
    f=$(printf '%s/acts_%s/layer%02d.safetensors' "$out" "$m" "$L")
    "$MONOLAB" embed "$f" -o "$out/embed_${m}_L$L" --device cpu
    "$MONOLAB" embed "$f" -o "$out/embed_${m}_L${L}_pre" --device cpu --embedding pre-mlp --similar 0
    [ "$m" = model ] && sites+=("$out/embed_${m}_L$L")
  done
done
"$MONOLAB" explore "${sites[@]}" -o "$out/site"
"$PY" "$here/scripts/table1.py" "$out" > "$out/table1.md"
cat "$out/table1.md"
echo "lm-demo: the trained model's explorer is $out/site/index.html"
