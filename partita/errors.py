"""Errors that partita reports to its users as one clear line."""

from __future__ import annotations

from pathlib import Path


class PartitaError(Exception):
    """Base class of every error partita reports to a user (CLI exit code 2)."""


class InputError(PartitaError):
    """A user's input file is missing, empty, corrupt or unsupported.

    The message always names the file, so that the CLI can print it as one line.
    """

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
