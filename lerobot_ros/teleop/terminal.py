"""Key presses from a terminal, one character at a time, without blocking."""

from __future__ import annotations

import os
import select
import termios
import tty
from typing import IO


class TerminalKeys:
    """Reads single keys from a TTY in cbreak mode; restores the terminal on close."""

    def __init__(self, stream: IO) -> None:
        self.fd = stream.fileno()
        if not os.isatty(self.fd):
            raise OSError(
                "the keyboard teleoperator needs a terminal on its standard input "
                "(run it with `ros2 run`, not in the background of a launch file)"
            )
        self._saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)

    def read(self) -> list[str]:
        """Every key pressed since the last call (empty if none)."""
        keys: list[str] = []
        while select.select([self.fd], [], [], 0)[0]:
            data = os.read(self.fd, 64)
            if not data:
                break
            keys.extend(data.decode(errors="ignore"))
        return keys

    def close(self) -> None:
        termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
