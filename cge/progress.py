"""What a run shows while it works: one line per solved scenario and the report's stages.

:class:`Progress` is the interface :func:`cge.runner.run_scenarios` talks to; :func:`make_progress`
picks the display: a live bar (``rich``) on a terminal, nothing when output is redirected (CI
logs keep only the final table) or under ``--quiet``.
"""

from __future__ import annotations

import sys
from typing import Protocol


class Progress(Protocol):
    """Callbacks of a run, in the order they are called."""

    def stage(self, text: str) -> None:
        """A stage starts (loading data, building the model, writing the report, ...)."""

    def start_solving(self, total: int) -> None:
        """``total`` scenarios are about to be solved."""

    def solving(self, name: str) -> None:
        """Scenario ``name`` is being solved."""

    def solved(self, name: str, status: str, iterations: int, seconds: float) -> None:
        """Scenario ``name`` finished (``status`` "optimal" or "failed")."""

    def close(self) -> None:
        """The run is over (successfully or not)."""


class Silent:
    """Shows nothing (``--quiet``, output not a terminal, the Python API by default)."""

    def stage(self, text: str) -> None:
        pass

    def start_solving(self, total: int) -> None:
        pass

    def solving(self, name: str) -> None:
        pass

    def solved(self, name: str, status: str, iterations: int, seconds: float) -> None:
        pass

    def close(self) -> None:
        pass


class RichProgress:
    """A live bar over the scenarios with one finished line per scenario, on stderr."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Bar

        self.console = Console(stderr=True, highlight=False)
        self.bar = Bar(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TimeElapsedColumn(), console=self.console,
                        transient=True)
        self.task = None
        self.bar.start()

    def stage(self, text: str) -> None:
        self.console.print(f"[dim]·[/dim] {text}")

    def start_solving(self, total: int) -> None:
        self.task = self.bar.add_task("solving", total=total)

    def solving(self, name: str) -> None:
        if self.task is not None:
            self.bar.update(self.task, description=f"solving {name}")

    def solved(self, name: str, status: str, iterations: int, seconds: float) -> None:
        mark = "[green]✓[/green]" if status == "optimal" else "[red]✗[/red]"
        self.console.print(f"  {mark} {name:<40} {status:<8} {iterations:>4} iterations "
                           f"{seconds:7.2f} s")
        if self.task is not None:
            self.bar.advance(self.task)
            task = self.bar.tasks[-1]
            if task.completed >= (task.total or 0):
                self.bar.update(self.task, visible=False)

    def close(self) -> None:
        self.bar.stop()


def make_progress(quiet: bool = False) -> Progress:
    """A live display when stderr is a terminal and not ``quiet``; otherwise :class:`Silent`."""
    if quiet or not sys.stderr.isatty():
        return Silent()
    return RichProgress()
