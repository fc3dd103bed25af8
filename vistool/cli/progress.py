"""Rich progress display for batch inference (frames, frames/s, ETA)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)


class RichReporter:
    """Shows one progress bar per video and a line per finished video (on stderr)."""

    def __init__(self, total_videos: int | None = None) -> None:
        self.console = Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("frames"), TextColumn("{task.fields[fps]:>6.1f} fps"), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(), console=self.console, transient=True,
            disable=not self.console.is_terminal)  # off a terminal a finished bar leaves a blank line
        self._task: TaskID | None = None

    def __enter__(self) -> "RichReporter":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def start_video(self, name: str, total_frames: int | None) -> None:
        if self._task is not None:
            self.progress.remove_task(self._task)
        self._task = self.progress.add_task(name, total=total_frames, fps=0.0)

    def advance(self, frames: int) -> None:
        if self._task is None:
            return
        self.progress.advance(self._task, frames)
        task = self.progress.tasks[-1]
        elapsed = task.elapsed or 0.0
        self.progress.update(self._task, fps=task.completed / elapsed if elapsed > 0 else 0.0)

    def end_video(self, name: str, ok: bool, message: str = "") -> None:
        mark = "[green]done[/]" if ok else "[red]failed[/]"
        self.progress.console.print(f"{mark} {name}: {message}", markup=True, highlight=False)
        if self._task is not None:
            self.progress.remove_task(self._task)
            self._task = None
