"""Shared CLI plumbing: the global options, opening the node, progress bars, tables."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

from genomed.config import resolve_home
from genomed.context import NodeContext
from genomed.errors import ConfigurationError

# Piped output (CI logs, `make demo | tee`) gets a width that fits our tables instead of 80 columns.
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 150)
USER_ENV = "GENOMED_USER"


@dataclass
class CliState:
    home: str | None = None
    user: str | None = None

    def home_path(self) -> Path:
        return resolve_home(self.home)

    def actor(self) -> str:
        name = self.user or os.environ.get(USER_ENV)
        if not name:
            raise ConfigurationError(f"no acting user: pass --user NAME or set {USER_ENV}")
        return name


STATE = CliState()


@contextlib.contextmanager
def opened_node() -> Iterator[NodeContext]:
    from genomed.node import open_node

    ctx = open_node(STATE.home_path())
    try:
        yield ctx
    finally:
        ctx.close()


@contextlib.contextmanager
def byte_progress(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar over bytes, shown only on a terminal; yields the callback to advance it."""
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), console=console, transient=True,
                  disable=not console.is_terminal) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)
