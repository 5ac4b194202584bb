"""Play and pause for the live apps (the playground, the sweep view): one frame, then yield to
the kernel's event loop, repeat, so controls stay live and pause acts within a frame."""

from __future__ import annotations

import asyncio
import contextlib


class PlayLoop:
    """Mixin: needs ``play_frames(n)``, a ``play_button`` toggle, and ``stopped(message)`` to
    show why playing stopped (training diverged)."""

    task: asyncio.Task | None = None

    def play(self) -> asyncio.Task:
        """Start training in the background: one frame, then yield to the kernel, repeat."""
        if self.task is None or self.task.done():
            self.task = asyncio.get_event_loop().create_task(self._loop())
        if not self.play_button.value:
            self.play_button.value = True
        return self.task

    def pause(self) -> None:
        """Stop after the frame in progress."""
        if self.task is not None:
            self.task.cancel()
            self.task = None
        if self.play_button.value:
            self.play_button.value = False

    async def _loop(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                try:
                    self.play_frames(1)
                except FloatingPointError as error:  # TrainingDiverged: the state is kept
                    self.stopped(f"<b>Stopped:</b> {error}")
                    break
                await asyncio.sleep(0.001)  # let the kernel handle widget messages
        self.task = None
        self.play_button.value = False
