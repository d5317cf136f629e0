"""Samenspraak: an offline, hands-free facilitator for couples' conversation exercises."""

__version__ = "0.1.0"
