"""The command line: the only place that reads arguments and environment variables.

``samenspraak COMMAND``: every command lives in this package — :mod:`assistant.cli.sessions`
(list, simulate, run), :mod:`assistant.cli.practice` (history, forget),
:mod:`assistant.cli.coach` (timer, new, validate), :mod:`assistant.cli.voicerecord` (record)
and :mod:`assistant.cli.diagnostics` (check, hear). Settings are built
once, here, and handed on as frozen objects; nothing imports this package back.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from assistant.cli.settings import EXIT_USAGE, check_output_file, parse_settings
from assistant.engine.errors import UsageError
from assistant.engine.exercises import ExerciseError
from assistant.engine.texts import TextsError
from assistant.simulate import ScenarioError, SimulationStuck

_LOGGER = logging.getLogger(__name__)


class _Brief(logging.Formatter):
    """Log lines without tracebacks (one line: what failed, and why), unless ``full`` (-v)."""

    def __init__(self, fmt: str, full: bool) -> None:
        super().__init__(fmt)
        self._full = full

    def format(self, record: logging.LogRecord) -> str:
        """The message, and the exception's own line instead of its traceback."""
        if self._full or not record.exc_info:
            return super().format(record)
        error = record.exc_info[1]
        brief = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        return f"{super().format(brief)} ({type(error).__name__}: {error}; -v shows where)"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``samenspraak`` command."""
    from assistant.cli import coach, diagnostics, practice, sessions, voicerecord

    commands = {"list": sessions.cmd_list, "simulate": sessions.cmd_simulate,
                "run": sessions.cmd_run, "resume": sessions.cmd_resume,
                "check": diagnostics.cmd_check,
                "hear": diagnostics.cmd_hear, "history": practice.cmd_history,
                "forget": practice.cmd_forget, "timer": coach.cmd_timer, "new": coach.cmd_new,
                "validate": coach.cmd_validate, "record": voicerecord.cmd_record}
    settings = parse_settings(argv, dict(os.environ))
    handler = logging.StreamHandler()
    handler.setFormatter(_Brief("%(levelname)s %(name)s: %(message)s", full=settings.verbose))
    logging.basicConfig(level=logging.INFO if settings.verbose else logging.ERROR,
                        handlers=[handler])
    try:
        check_output_file(settings.events, "the event log")
        return commands[settings.command](settings)
    except (UsageError, ExerciseError, ScenarioError, TextsError) as err:
        print(f"samenspraak: {err}", file=sys.stderr)
        return EXIT_USAGE
    except SimulationStuck as err:  # an exercise or scenario that never ends
        print(f"samenspraak: the simulation got stuck: {err}; check the exercise's jumps "
              "and durations", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # a second Ctrl-C while the session was already closing
        return 130
    except BrokenPipeError:  # output piped into a reader that quit early (e.g. `| head`)
        sys.stderr.close()
        return 0
