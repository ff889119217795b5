"""Baton: one funnel, one contract, one handoff and one scoreboard for B2B marketing and sales."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("baton")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
