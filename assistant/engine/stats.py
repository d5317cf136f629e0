"""What a session counts: speaking time per partner, mirrors tried and confirmed, agreements."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.engine.messages import Summary


@dataclass
class Statistics:
    """The running totals of one session."""

    speaking_seconds: dict[str, float]
    """Speaking time per partner, in seconds."""
    mirror_attempts: int = 0
    """How often a listener was asked to say back what they heard."""
    mirrors_confirmed: int = 0
    """How often the speaker said that the mirror was right."""
    agreements: list[str] = field(default_factory=list)
    """Agreements the couple stated."""
    turns: list[tuple[str, float, float]] = field(default_factory=list)
    """Who spoke when: (name, start, end) in clock seconds."""

    @classmethod
    def for_names(cls, names: tuple[str, str]) -> Statistics:
        """Zero totals for two partners."""
        return cls({name: 0.0 for name in names})

    def count_speech(self, talker: str | None, seconds: float, end: float = 0.0) -> None:
        """Add ``seconds`` of speech, ending at ``end``, to ``talker`` (shared time counts for
        nobody)."""
        if seconds > 0 and talker in self.speaking_seconds:
            self.speaking_seconds[talker] += seconds
            self.turns.append((talker, end - seconds, end))

    def summary(self) -> Summary:
        """What happened so far."""
        return Summary(dict(self.speaking_seconds), self.mirror_attempts, self.mirrors_confirmed,
                       list(self.agreements))
