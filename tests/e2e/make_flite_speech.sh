#!/usr/bin/env bash
# Makes the transcribe test's speech: three short sentences spoken by flite
# (Debian's `flite`, voice VOICE, default rms), LEAD seconds of lead-in
# (default 1), 1.5 s pauses between them and two seconds of tail, with
# low-level noise (about
# -50 dBFS: a real microphone never sends pure digital silence, and
# PocketSphinx emits an empty utterance on exact zeros).
#
#   make_flite_speech.sh OUT_DIR [VOICE [LEAD]]
#
# Writes OUT_DIR/transcribe.wav (48 kHz mono 16-bit: what the fake
# microphone plays, looping), OUT_DIR/transcribe16k.raw (the same WAV at
# 16 kHz mono s16le, for the offline decode), OUT_DIR/transcribe.txt
# (the reference: the sentences, one a line) and OUT_DIR/transcribe.segments
# (where each sentence's speech is in the WAV: "start end" in seconds, one a
# line; flite's own leading and trailing silence is trimmed off first).
set -euo pipefail
out=${1:?usage: make_flite_speech.sh OUT_DIR [VOICE [LEAD]]}
voice=${2:-rms}
lead=${3:-1.0}
mkdir -p "$out"
# Every sox run in "repeatable" mode (its noise and dither seeded): the same
# audio every time, so the offline baseline is reproducible.
export SOX_OPTS=-R

sentences=(
  "open the door and close the window"
  "i would like to book a table for two people tonight"
  "speech recognition works best with a clear voice"
)

gap=1.5
parts=("$out/lead.wav")
sox -n -r 48000 -c 1 -b 16 "$out/lead.wav" trim 0 "$lead"
sox -n -r 48000 -c 1 -b 16 "$out/gap.wav" trim 0 "$gap"
sox -n -r 48000 -c 1 -b 16 "$out/tail.wav" trim 0 2.0
: >"$out/transcribe.txt"
: >"$out/transcribe.segments"
t=$lead
for i in "${!sentences[@]}"; do
  flite -voice "$voice" -t "${sentences[$i]}" -o "$out/s$i.raw.wav"
  sox "$out/s$i.raw.wav" -r 48000 -c 1 -b 16 "$out/s$i.wav" \
    silence 1 0.01 0.1% reverse silence 1 0.01 0.1% reverse gain -n -3
  if [ "$i" != 0 ]; then
    parts+=("$out/gap.wav")
    t=$(awk -v a="$t" -v b="$gap" 'BEGIN { print a + b }')
  fi
  parts+=("$out/s$i.wav")
  len=$(soxi -D "$out/s$i.wav")
  awk -v a="$t" -v b="$len" 'BEGIN { printf "%.3f %.3f\n", a, a + b }' >>"$out/transcribe.segments"
  t=$(awk -v a="$t" -v b="$len" 'BEGIN { print a + b }')
  echo "${sentences[$i]}" >>"$out/transcribe.txt"
done
parts+=("$out/tail.wav")
sox "${parts[@]}" "$out/clean.wav"
sox -m -v 1 "$out/clean.wav" -v 1 "|sox $out/clean.wav -p synth whitenoise vol 0.003" -b 16 "$out/transcribe.wav"
sox "$out/transcribe.wav" -r 16000 -c 1 -b 16 -e signed-integer -t raw "$out/transcribe16k.raw"
rm -f "$out"/s[0-9]*.wav "$out"/lead.wav "$out"/gap.wav "$out"/tail.wav "$out/clean.wav"
