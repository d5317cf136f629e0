"""The benchmark's smoke run: every measurement runs and lands in the results file.

Targets are not asserted here; ``scripts/bench.py`` (without --quick) measures them.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.audio  # it plays through the rig's loudspeaker when the rig runs
SECTIONS = ("latency", "accuracy", "false_commands", "cost", "timing", "raised_voices")


def test_quick_benchmark_runs_every_measurement(tmp_path: Path) -> None:
    from test_audio_rig import require_pulse

    require_pulse()  # on the rig it measures the real output path, not a fake card
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text("utf-8"))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    assert results["mode"] == "quick"
    assert {"cpu", "cores", "python", "platform"} <= set(results["machine"])
    assert "present" in results["recognizers"]
    assert results["audio_output"].startswith("PulseAudio rig"), results["audio_output"]
    for name in SECTIONS:
        assert name in results, f"{name} missing"
        assert "error" not in results[name], results[name]

    for lang in ("nl", "en"):
        latency = results["latency"][lang]
        assert latency["recognizer"] is not None  # pocketsphinx needs no download
        assert latency["eos_ms"]["n"] == latency["trials"] > 0
        assert latency["eos_ms"]["p50"] > 0
        for stage in ("recognition_ms", "decision_ms", "playback_start_ms", "total_ms",
                      "after_eos_ms"):
            assert set(latency[stage]) == {"p50", "p95", "n"}, (lang, stage)
            if lang == "en":  # the session's own recognizer: its answers start a reply
                assert latency["responded"] > 0
                assert latency[stage]["n"] > 0 and latency[stage]["p50"] is not None, stage
        accuracy = results["accuracy"][lang]
        assert accuracy["utterances_per_condition"] > 0
        assert set(accuracy["recognizers"]) - {"no recognizer"}, "no recognizer measured"
        assert all({"clean", "10 dB"} <= set(per) for per in accuracy["recognizers"].values())
        aside = accuracy["kept_aside"]  # voices and speeds that tuning never saw
        assert aside["utterances_per_condition"] > 0
        assert not set(aside["voices"]) & set(accuracy["voices"])
        assert not set(aside["speeds"]) & set(accuracy["speeds"])
        false = results["false_commands"][lang]
        assert false["seconds"] > 20 and false["utterances"] > 0
        assert set(false["recognizers"]) - {"no recognizer"}, "no recognizer measured"
        assert all("commands" in r for r in false["recognizers"].values())
        cost = results["cost"]["per_language"][lang]
        for key in ("cpu_silent_pct", "cpu_talking_pct", "peak_rss_mb", "growth_mb_per_hour"):
            assert isinstance(cost[key], int | float), key
        assert results["cost"]["startup"][f"{lang} cold"]["seconds"] is not None
    assert results["timing"]["events"] > 0 and results["timing"]["p95_ms"] is not None

    assert results["targets"], "no target was checked"
    for target in results["targets"]:
        assert {"section", "name", "value", "target", "pass", "miss_by"} <= set(target)
    for name in ("latency", "accuracy", "false commands", "cost", "timing"):
        assert name in done.stdout
    assert any(t["name"].startswith("en kept-aside voices at 10 dB") for t in results["targets"])


def test_the_full_run_keeps_its_kept_aside_speeds_apart_from_the_tuning_ones() -> None:
    from scripts.bench.config import FULL, KEPT_ASIDE_SPEEDS, KEPT_ASIDE_VOICES, QUICK, VOICES
    from scripts.bench.corpus import command_corpus

    assert not set(KEPT_ASIDE_SPEEDS) & set(FULL.speeds)
    for lang, voices in VOICES.items():
        assert not set(KEPT_ASIDE_VOICES[lang]) & set(voices)
        for cfg in (QUICK, FULL):  # the corpus itself, whatever the constants say
            tuning = command_corpus(lang, cfg)
            aside = command_corpus(lang, cfg, kept_aside=True)
            assert aside and not {c[3] for c in aside} & {c[3] for c in tuning}
            assert not {c[2] for c in aside} & {c[2] for c in tuning}
