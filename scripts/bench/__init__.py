"""Benchmark: is the voice loop fast and accurate enough for a conversation at the kitchen table?

Runs the code a live session runs — voice activity, the recognizers, the intent matcher, the
session under the one driver loop, the prompt player, the speaker and its warm output stream —
on audio generated here: espeak-ng speech, mixed with generated kitchen noise (pink and brown
noise, a fridge hum, clattering dishes). Prints a table and writes ``bench/results.json``::

    .venv/bin/python scripts/bench.py            # everything (about 20 minutes on 2 cores)
    .venv/bin/python scripts/bench.py --quick    # a smoke run of every measurement, < 3 min
    .venv/bin/python -m scripts.bench --only latency

Sound goes to the PulseAudio rig of scripts/pulse-up when it runs (``eval "$(scripts/pulse-up)"``
first); otherwise to a fake output stream that takes audio at a sound card's pace, and the
results say so. The microphone side is fed 20 ms at a time, as a microphone delivers it.

One module per measurement: :mod:`.latency`, :mod:`.accuracy`, :mod:`.false_commands`,
:mod:`.cost`, :mod:`.timing`; :mod:`.report` checks the targets and writes the results,
:mod:`.config` says how much to run, :mod:`.corpus` is what the couple says,
:mod:`.listening` the recognizers and the one way to hear audio, :mod:`.output` the loudspeaker.
Synthesized speech, kitchen noise and the fakes come from :mod:`assistant.rig`, shared with the
tests.
"""
