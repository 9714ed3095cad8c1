"""A terminal progress bar for the online commands' ``progress(done, total, message)``
callbacks (several phases, e.g. playlist pages then lyrics, each get their own bar)."""

from __future__ import annotations

import sys
from typing import Any


class ProgressBar:
    def __init__(self, unit: str = "item") -> None:
        self.unit = unit
        self.bar: Any = None
        self.total = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def update(self, done: int, total: int, message: str) -> None:
        from tqdm import tqdm

        if self.bar is None or total != self.total or done < self.bar.n:
            self.close()
            self.bar = tqdm(total=total, unit=self.unit, file=sys.stderr, leave=False)
            self.total = total
        self.bar.set_postfix_str(message[:60], refresh=False)
        self.bar.update(done - self.bar.n)
