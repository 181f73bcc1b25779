#!/usr/bin/env bash
# Makes the test speech: OUT_DIR/speech.wav (what the fake microphone says)
# and OUT_DIR/control.wav (a different sentence, which the echo must NOT
# match). 48 kHz mono 16-bit, half a second of lead-in and a second of
# tail (Chromium loops the file), with low-level noise so the stream is
# never pure digital silence, as with a real microphone.
set -euo pipefail
out=${1:?usage: make_speech.sh OUT_DIR}
mkdir -p "$out"

make() { # name sentence
  local raw="$out/$1.raw.wav" pad="$out/$1.pad.wav"
  espeak-ng -s 150 -w "$raw" "$2"
  sox "$raw" -r 48000 -c 1 -b 16 "$pad" gain -n -3 pad 0.5 1.0
  # white noise at about -50 dBFS, the length of the padded speech
  sox -m -v 1 "$pad" -v 1 "|sox $pad -p synth whitenoise vol 0.003" -b 16 "$out/$1.wav"
  rm -f "$raw" "$pad"
}

make speech "The quick brown fox jumps over the lazy dog near the river."
make control "Seven silver spoons lay on a wooden table by the window."
