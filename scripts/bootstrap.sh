#!/usr/bin/env bash
# Idempotent set-up of a fresh machine: Debian packages (when apt is there), a .venv,
# torch (the CPU wheel on disk) first, then partita with its extras and the packages that
# must be installed without their declared dependencies. A second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=.venv
APT_PACKAGES="fluidsynth fluid-soundfont-gm abcmidi chromium"

# 1. Debian packages: only when apt exists and something is missing.
if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then
  missing=""
  for pkg in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
  done
  if [ -n "$missing" ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
    echo "bootstrap: installing Debian packages:$missing"
    if ! ($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null); then
      echo "bootstrap: warning: could not install$missing (FluidSynth engine unavailable; the embedded renderer still works)" >&2
    fi
  fi
fi

# 2. The virtual environment and the Python packages, re-done only when the recipe changes.
stamp_key=$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)
STAMP="$VENV/.partita-$stamp_key"
# partita's own bytecode, brought up to date every time (about 0.1 s when nothing changed):
# an editable install compiles nothing, and where PYTHONDONTWRITEBYTECODE is set (as on our
# machines) every `partita` command would compile the modules it imports again (30 ms for
# `partita render`).
compile_partita() { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m compileall -q partita >/dev/null || true; }
if [ -f "$STAMP" ]; then
  compile_partita
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$VENV/bin/python" -m pip install -q --upgrade pip
# torch first: the CPU wheel on disk; anything else asking for torch then finds it satisfied.
"$PIP" install -q "torch==2.13.0"
"$PIP" install -q -e ".[audio,text,train,serve,dev]"
# Packages whose declared dependencies must not come along:
#  - tinysoundfont needs PyAudio only for live playback, and PyAudio does not build here;
#  - basic-pitch would pull TensorFlow; we run its ONNX model with onnxruntime;
#  - torchcrepe would pull torchaudio (a CUDA build that fails beside the CPU torch).
"$PIP" install -q --no-deps "tinysoundfont>=0.3" "basic-pitch==0.4.0" "torchcrepe>=0.0.22"
rm -f "$VENV"/.partita-*
compile_partita
touch "$STAMP"
echo "bootstrap: done"
