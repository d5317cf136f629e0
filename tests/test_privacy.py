"""Privacy, proven: whole sessions with the network blocked at the socket level; no transcript
on disk unless asked for; everything stored is readable by its owner only.

Text mode and the simulation run in-process under :func:`no_network`; the voice path runs a
real ``samenspraak run`` on the audio rig with the same guard put in as ``sitecustomize.py``.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli import samenspraak

from assistant.cli.diagnostics import privacy_line
from assistant.history import DB_NAME
from assistant.rig import netguard

SECRET = "ik schaam me voor mijn schulden bij de bank"
"""Something said at the table that must never end up on disk unasked."""
TYPED = "\n".join(["", "ja", "ja", "", SECRET, "klaar", "", "ja", "", "", "nee", "", "",
                   "klaar", "elke avond praten", "klaar", "nee"]) + "\n"
"""herstelgesprek in text mode, with a secret in Anna's turn (as test_cli types it)."""
CACHE_NAME = re.compile(r"^[0-9a-f]{64}\.wav$")


@pytest.fixture
def no_network() -> Iterator[list[str]]:
    """Every attempt to open an internet socket or look up a name fails, and is listed."""
    attempts: list[str] = []
    undo = netguard.install(attempts.append)
    try:
        yield attempts
    finally:
        undo()


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Every place a session could write to, inside tmp_path, with a permissive umask."""
    places = {name: tmp_path / name for name in ("cwd", "user", "tmp", "cache", "home")}
    for name in ("cwd", "user", "tmp"):
        places[name].mkdir()
    monkeypatch.chdir(places["cwd"])
    monkeypatch.setenv("HOME", str(places["user"]))
    monkeypatch.setenv("XDG_DATA_HOME", str(places["user"] / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(places["user"] / "cache"))
    monkeypatch.setenv("SAMENSPRAAK_CACHE", str(places["cache"]))
    monkeypatch.setenv("SAMENSPRAAK_HOME", str(places["home"]))
    monkeypatch.setattr(tempfile, "tempdir", str(places["tmp"]))
    old = os.umask(0)  # owner-only must come from the program, not from the user's umask
    try:
        yield places
    finally:
        os.umask(old)


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def assert_owner_only(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}: others may read it"


def test_the_guard_refuses_internet_sockets_and_lookups_but_not_unix_sockets(no_network):
    with pytest.raises(OSError, match="blocked"):
        socket.create_connection(("example.org", 80), timeout=1)
    with pytest.raises(OSError, match="blocked"), socket.socket() as s:
        s.connect(("127.0.0.1", 9))
    with pytest.raises(OSError, match="blocked"), socket.socket(type=socket.SOCK_DGRAM) as s:
        s.sendto(b"x", ("10.0.0.1", 53))
    a, b = socket.socketpair(socket.AF_UNIX)  # the sound server's kind of socket
    a.sendall(b"ok")
    assert b.recv(2) == b"ok"
    a.close()
    b.close()
    assert len(no_network) == 3


def test_text_mode_sends_nothing_and_keeps_no_transcript(no_network, sandbox):
    result = samenspraak("run", "herstelgesprek", "--input", "text", "--names", "Anna", "Ben",
                         stdin=TYPED)
    assert result.returncode == 0, result.stderr
    assert no_network == []
    written = files_under(sandbox["cwd"].parent)
    assert written == [sandbox["home"] / DB_NAME], written  # the history, and nothing else
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), f"{path} holds what was said"
    assert_owner_only(sandbox["home"])


def test_the_event_log_is_written_only_when_asked_and_owner_only(no_network, sandbox):
    events = sandbox["cwd"] / "events.jsonl"
    result = samenspraak("run", "herstelgesprek", "--input", "text", "--names", "Anna", "Ben",
                         "--events", str(events), stdin=TYPED)
    assert result.returncode == 0, result.stderr
    assert no_network == []
    assert SECRET in events.read_text(encoding="utf-8")  # asked for: the transcript is there
    assert stat.S_IMODE(events.stat().st_mode) == 0o600
    assert set(files_under(sandbox["cwd"].parent)) == {events, sandbox["home"] / DB_NAME}


def test_a_simulation_sends_nothing_and_writes_only_with_home(no_network, sandbox):
    scenario = sandbox["tmp"] / "s.toml"
    scenario.write_text(f'[[reply]]\nsay = "{SECRET}"\n[[reply]]\nsay = "klaar"\n',
                        encoding="utf-8")
    os.chmod(scenario, 0o600)
    result = samenspraak("simulate", "spiegelen", "--scenario", str(scenario))
    assert result.returncode == 0, result.stderr
    assert files_under(sandbox["cwd"].parent) == [scenario]  # no --home: no file at all
    result = samenspraak("simulate", "spiegelen", "--scenario", str(scenario), "--home",
                         str(sandbox["home"]))
    assert result.returncode == 0, result.stderr
    assert set(files_under(sandbox["cwd"].parent)) == {scenario, sandbox["home"] / DB_NAME}
    assert SECRET.encode() not in (sandbox["home"] / DB_NAME).read_bytes()
    assert_owner_only(sandbox["home"])
    assert no_network == []


def test_the_prompt_cache_holds_no_text_and_is_owner_only(no_network, sandbox):
    from assistant.rig.speech import espeak_pcm
    from assistant.tts import RenderCache, VoiceSpeaker

    class Espeakish:
        name, voice_id = "fake", "nl"

        def render(self, text: str, rate: int, path: Path) -> None:
            from assistant.audio import write_wav

            write_wav(path, espeak_pcm("a", voice="nl"), 16000)

        def close(self) -> None:
            pass

    speaker = VoiceSpeaker([Espeakish()], None, RenderCache(sandbox["cache"] / "tts"))
    speaker.prepare([SECRET, "Anna, jij hebt het woord."])
    assert speaker.wait_prepared(30)
    speaker.close()
    cached = files_under(sandbox["cache"])
    assert len(cached) == 2 and all(CACHE_NAME.match(p.name) for p in cached), cached
    for path in cached:
        assert b"schaam" not in path.read_bytes() and b"Anna" not in path.read_bytes()
    assert_owner_only(sandbox["cache"])
    assert no_network == []


def test_check_says_in_one_line_that_nothing_is_sent_and_where_data_is_kept(tmp_path):
    line = privacy_line(tmp_path / "home", tmp_path / "cache")
    assert "\n" not in line
    assert "nothing is sent anywhere" in line
    assert str(tmp_path / "home") in line and str(tmp_path / "cache") in line


@pytest.mark.audio
def test_a_voice_session_on_the_rig_sends_nothing_and_writes_only_what_it_should(tmp_path):
    from test_voice_e2e import DATA, LiveSession

    attempts = tmp_path / "attempts.txt"
    session = LiveSession(tmp_path, DATA / "e2e-en.toml", "en", "--recognizer", "pocketsphinx",
                          "--duration", "turn=20", "--home", str(tmp_path / "home"))
    session.env.update(netguard.write_sitecustomize(tmp_path / "guard", attempts))
    session.env.update({"HOME": str(tmp_path / "user"), "TMPDIR": str(tmp_path / "tmp")})
    (tmp_path / "tmp").mkdir()
    (tmp_path / "user").mkdir()
    with session:
        session.phase("speaking", "Anna", timeout=60)
        session.say("I had a long day at work and I felt tired", "en-us")
        session.say("let's stop", "en-us", expect="stop")
        assert session.process is not None
        session.process.wait(timeout=60)
    assert session.process.returncode == 0, session.process.stderr
    assert attempts.read_text(encoding="utf-8") == "", "tried to reach the network"
    assert (tmp_path / "guard" / "sitecustomize.py").exists()
    left = {p.relative_to(tmp_path) for p in files_under(tmp_path)} - {
        Path("attempts.txt"), Path("events.jsonl"), Path("guard/sitecustomize.py")}
    left = {p for p in left if "__pycache__" not in p.parts}
    # libpulse (the sound server's client library) keeps its own auth cookie in ~/.config/pulse;
    # every PulseAudio program makes it, and it holds nothing of the session
    left = {p for p in left if p.parts[:3] != ("user", ".config", "pulse")}
    assert Path("home") / DB_NAME in left
    strays = {p for p in left if p.parts[0] != "cache" and p != Path("home") / DB_NAME}
    assert not strays, f"files besides the history and the prompt cache: {strays}"
    assert all(CACHE_NAME.match(p.name) for p in left if p.parts[0] == "cache")
    for name in ("home", "cache"):
        assert_owner_only(tmp_path / name)
    assert stat.S_IMODE((tmp_path / "events.jsonl").stat().st_mode) == 0o600
