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


class SweepProgress(Protocol):
    """Callbacks of a sensitivity sweep (:func:`cge.sensitivity.sweep.run`)."""

    def start(self, total: int, done: int, failed: int) -> None:
        """``total`` tasks, of which ``done`` and ``failed`` finished earlier (resume)."""

    def task_done(self, label: str, ok: bool) -> None:
        """A task finished (solved, or failed with its error recorded)."""

    def close(self) -> None:
        """The sweep is over (or interrupted)."""


class SilentSweep:
    """Shows nothing."""

    def start(self, total: int, done: int, failed: int) -> None:
        pass

    def task_done(self, label: str, ok: bool) -> None:
        pass

    def close(self) -> None:
        pass


class RichSweep:
    """One live bar: done / failed / remaining of the sweep's tasks, on stderr."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        self.console = Console(stderr=True, highlight=False)
        self.bar = Bar(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                       TimeRemainingColumn(), console=self.console, transient=False)
        self.task = None
        self.total = self.done = self.failed = 0

    def _text(self) -> str:
        left = self.total - self.done - self.failed
        return (f"sweep: [green]{self.done} done[/green], [red]{self.failed} failed[/red], "
                f"{left} remaining")

    def start(self, total: int, done: int, failed: int) -> None:
        self.total, self.done, self.failed = total, done, failed
        self.bar.start()
        self.task = self.bar.add_task(self._text(), total=total, completed=done + failed)

    def task_done(self, label: str, ok: bool) -> None:
        self.done += ok
        self.failed += not ok
        if not ok:
            self.console.print(f"  [red]✗[/red] {label} failed (error in index.csv)")
        if self.task is not None:
            self.bar.update(self.task, advance=1, description=self._text())

    def close(self) -> None:
        self.bar.stop()


def make_sweep_progress(quiet: bool = False) -> SweepProgress:
    """A live bar when stderr is a terminal and not ``quiet``; otherwise nothing."""
    if quiet or not sys.stderr.isatty():
        return SilentSweep()
    return RichSweep()
