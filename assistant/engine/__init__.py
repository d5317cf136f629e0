"""The conversation engine, pure: exercises, texts, intents, the phase machine and the session.

Nothing in this package touches a device, a speech library or the rest of ``assistant``: it
imports only the standard library, ``transitions`` and itself. The session is sans-I/O — inputs
in, effects out — so the live voice loop, text mode and the simulation all drive the same core.
"""
