"""A rig for testing and measuring Samenspraak with real (synthesized) audio.

Shared by the test suite and ``scripts/bench.py``; nothing in the program itself uses it.

- :mod:`assistant.rig.signals` makes and analyses 16-bit mono PCM: silence, tones, noise, levels
  per window, stretches of sound, a tone's frequency and purity.
- :mod:`assistant.rig.speech` synthesizes the couple's side with espeak-ng (cached per phrase).
- :mod:`assistant.rig.pulse` drives the virtual PulseAudio rig that ``scripts/pulse-up`` starts:
  :class:`~assistant.rig.pulse.MicFeeder` speaks into the pipe-source microphone in real time,
  :class:`~assistant.rig.pulse.SinkRecorder` records the null-sink loudspeaker. Importing it
  points PulseAudio clients at the rig's daemon (an environment default, nothing is started).

Importing this package imports none of its modules, needs no sound card and starts nothing.
The rig never imports pytest: when it is not up, :func:`assistant.rig.pulse.check_rig` raises
:class:`~assistant.rig.pulse.RigUnavailable` and the tests decide whether to skip or fail.
"""
