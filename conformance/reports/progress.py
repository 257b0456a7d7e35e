"""Progress while the checks run: the kit can take minutes, and silence looks like a hang.

On a terminal, one line rewritten in place: the area running, how far it is, how far the run is,
the failures so far and the seconds elapsed. In a CI log (not a terminal) control characters
would show as garbage, so one plain line per area when the area completes. No line is longer than
`width` columns (100 unless told; on a terminal pass its width, since a rewritten line that wraps
can no longer be rewritten).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import TextIO

from conformance.outcomes import CheckOutcome

__all__ = ["Progress"]

WIDTH = 100
_CLEAR_LINE = "\r\x1b[K"  # back to column 0, erase to the end of the line


def _fit(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 3] + "..."


def _counts(counter: Counter[str]) -> str:
    """'39 passed, 1 failed' in a fixed order (passed, failed, then the rest as they came)."""
    names = ["passed", "failed"] + [name for name in counter if name not in ("passed", "failed")]
    return ", ".join(f"{counter[name]} {name.replace('_', ' ')}" for name in names if counter[name])


class Progress:
    """`start(totals)` once, `advance(area, outcome)` after each check, `finish()` at the end.

    `totals` is the number of checks planned per area, in run order, e.g.
    {"orders": 40, "webhooks": 21, "property-based": 6}; `outcome` is a check's outcome
    (passed, failed, skipped, not_exercised).
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        tty: bool,
        width: int = WIDTH,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.tty = tty
        # One column spare on a terminal: a line filling the last column may wrap in some.
        self.width = max(min(width, WIDTH) - (1 if tty else 0), 20)
        self.clock = clock
        self.totals: dict[str, int] = {}
        self.done: dict[str, Counter[str]] = {}
        self.area_started: dict[str, float] = {}
        self.reported: set[str] = set()
        self.started = self.last_event = clock()
        self.line_shown = False

    # -- the interface --------------------------------------------------------------------------
    def start(self, totals: dict[str, int]) -> None:
        self.totals = dict(totals)
        self.done = {area: Counter() for area in totals}
        self.started = self.last_event = self.clock()

    def advance(self, area: str, outcome: CheckOutcome) -> None:
        now = self.clock()
        if area not in self.area_started:
            # An area's time starts when the previous check ended, so its first check counts.
            self.area_started[area] = self.last_event
        self.done.setdefault(area, Counter())[outcome] += 1
        self.last_event = now
        if self.tty:
            self._rewrite(self._live_line(area))
        elif self._complete(area):
            self._print_area(area)

    def finish(self) -> None:
        if self.tty:
            if self.line_shown:
                self._rewrite(self._final_line())
                self.stream.write("\n")
        else:
            # Areas cut short (a stopped run, a deselected check) still get their line.
            for area in self.done:
                if area not in self.reported and self.done[area].total():
                    self._print_area(area)
            self.stream.write(self._final_line() + "\n")
        self.stream.flush()

    # -- lines -------------------------------------------------------------------------------------
    def _checks_done(self) -> int:
        return sum(counter.total() for counter in self.done.values())

    def _failures(self) -> int:
        return sum(counter["failed"] for counter in self.done.values())

    def _complete(self, area: str) -> bool:
        return area in self.totals and self.done[area].total() >= self.totals[area]

    def _live_line(self, area: str) -> str:
        done_here = self.done[area].total()
        planned = self.totals.get(area)
        here = f"{done_here}/{planned}" if planned else str(done_here)
        all_planned = sum(self.totals.values())
        failures = self._failures()
        failed = f"{failures} failed" if failures else "no failures"
        elapsed = self.last_event - self.started
        line = (
            f"{area} {here} | all {self._checks_done()}/{all_planned} | {failed} | {elapsed:.0f} s"
        )
        return _fit(line, self.width)

    def _area_line(self, area: str) -> str:
        counter = self.done[area]
        done_here = counter.total()
        planned = self.totals.get(area, done_here)
        checks = f"{done_here} checks" if done_here >= planned else f"{done_here}/{planned} checks"
        seconds = self.last_event - self.area_started.get(area, self.started)
        return _fit(f"{area}: {checks}, {_counts(counter)}, {seconds:.1f} s", self.width)

    def _final_line(self) -> str:
        total: Counter[str] = Counter()
        for counter in self.done.values():
            total.update(counter)
        elapsed = self.clock() - self.started
        counts = _counts(total) or "none ran"
        return _fit(f"{self._checks_done()} checks in {elapsed:.1f} s: {counts}", self.width)

    # -- output ------------------------------------------------------------------------------------
    def _rewrite(self, line: str) -> None:
        self.stream.write(_CLEAR_LINE + line)
        self.stream.flush()
        self.line_shown = True

    def _print_area(self, area: str) -> None:
        self.reported.add(area)
        self.stream.write(self._area_line(area) + "\n")
        self.stream.flush()
