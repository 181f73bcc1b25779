#!/usr/bin/env python3
"""A voxgate speech engine for `--asr exec:COMMAND`: the template for
plugging in your own model.

    voxgate --asr 'exec:python3 examples/asr_engine_example.py'

voxgate starts one copy of this program per session and talks to it over
pipes:

  stdin   16 kHz mono signed 16-bit little-endian PCM, as the user speaks
  stdout  one JSON object per line (flush after each):
            {"partial": "what is heard so far"}
            {"text": "the utterance", "start": 1.20, "end": 2.85,
             "words": [{"word": "the", "start": 1.20, "end": 1.31}, ...]}
            {"error": "a reason shown to the user"}
          times are seconds since this program's first input byte;
          "start", "end" and "words" are optional
  stderr  goes to voxgate's log, with the session id
  EOF on stdin: the user stopped. Print the final of the utterance in
  progress, if any, and exit 0.

Environment: VOXGATE_SAMPLE_RATE (16000) and VOXGATE_SESSION (an id for
your own logs).

This example has no model: it finds speech by its energy and reports the
shape a real recogniser reports (partials while speech lasts, one final per
utterance, with times), with placeholder text. To use your model, replace
Recognizer below; the voice activity detector can stay, or your model may
do its own. Only the Python standard library is used.

Load the model once, at the top, before reading audio: voxgate starts this
program when the session starts, so a model that takes seconds to load
delays the first result by as much. For a large GPU model shared by many
sessions, run it as one server and make this program (or voxgate's ws:
engine, Vosk protocol) talk to it.
"""
import array
import json
import math
import os
import sys

RATE = int(os.environ.get("VOXGATE_SAMPLE_RATE", "16000"))
SESSION = os.environ.get("VOXGATE_SESSION", "")
FRAME = RATE // 50  # 20 ms of samples

# Voice activity detection by energy, relative to a tracked noise floor.
SPEECH_RATIO = 4.0      # a frame this many times the noise floor is speech
MIN_LEVEL = 200.0       # ... and at least this loud (RMS, of 32768)
START_FRAMES = 3        # 60 ms of speech starts an utterance
END_FRAMES = 15         # 300 ms of quiet ends it
PARTIAL_EVERY = 10      # a partial every 200 ms of speech


class Recognizer:
    """Stand-in for a model. Replace the bodies with calls to yours.

    A streaming model keeps its state between feed() calls; a model that
    only takes whole utterances can keep the audio (as here) and run on it
    in partial() and final()."""

    def __init__(self):
        # >>> Load your model here, once per process, e.g.:
        # self.model = torch.jit.load("model.pt").cuda().eval()
        self.audio = bytearray()

    def start(self):
        """A new utterance begins."""
        self.audio = bytearray()

    def feed(self, pcm):
        """More audio of the utterance (16-bit little-endian bytes)."""
        self.audio += pcm

    def partial(self):
        """The hypothesis so far."""
        # >>> return self.model.transcribe(self.audio, partial=True)
        return "speech %.1f s" % (len(self.audio) / 2 / RATE)

    def final(self):
        """The utterance ended: the final text."""
        # >>> return self.model.transcribe(self.audio)
        return "speech of %.2f seconds" % (len(self.audio) / 2 / RATE)


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def rms(samples):
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0


def main():
    rec = Recognizer()
    stdin = sys.stdin.buffer
    frames = 0                # frames read: the clock
    floor = None              # noise floor estimate
    run = 0                   # consecutive speech frames (before start)
    quiet = 0                 # consecutive quiet frames (in speech)
    in_speech = False
    start = 0.0
    held = []                 # frames before speech was confirmed
    since_partial = 0

    def finish(end_frame):
        text = rec.final()
        end = end_frame * FRAME / RATE
        emit({"text": text, "start": round(start, 3), "end": round(end, 3),
              "words": [{"word": "speech", "start": round(start, 3), "end": round(end, 3)}]})

    while True:
        pcm = stdin.read(FRAME * 2)
        if len(pcm) < FRAME * 2:
            break  # EOF: the user stopped
        samples = array.array("h")
        samples.frombytes(pcm)
        if sys.byteorder == "big":
            samples.byteswap()
        level = rms(samples)
        frames += 1
        if floor is None:
            floor = level
        speech = level > max(floor * SPEECH_RATIO, MIN_LEVEL)
        if not speech:
            # Follow the noise down quickly and up slowly.
            floor = level if level < floor else floor * 0.99 + level * 0.01

        if not in_speech:
            if speech:
                run += 1
                held.append(pcm)
                if run >= START_FRAMES:
                    in_speech = True
                    quiet = 0
                    since_partial = 0
                    start = (frames - run) * FRAME / RATE
                    rec.start()
                    for h in held:
                        rec.feed(h)
                    held = []
            else:
                run = 0
                held = []
            continue

        rec.feed(pcm)
        if speech:
            quiet = 0
        else:
            quiet += 1
            if quiet >= END_FRAMES:
                in_speech = False
                run = 0
                finish(frames - quiet)
                continue
        since_partial += 1
        if since_partial >= PARTIAL_EVERY:
            since_partial = 0
            emit({"partial": rec.partial()})

    if in_speech:
        finish(frames)
    print("session %s: %.1f s of audio" % (SESSION, frames * FRAME / RATE), file=sys.stderr)


if __name__ == "__main__":
    main()
