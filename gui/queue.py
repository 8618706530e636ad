"""One training at a time per app: a first-come, first-served line of tickets that every Start joins.

The Train tab's Start, the Runs tab's Continue and Resume, and their API endpoints (from any tab, visitor or script)
all take a ticket; the ticket at the front trains, the others wait and are told their place and a rough wait.
"""
from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

POLL_S = 0.5  # how often a waiting ticket looks again (and tells the page its place)
STALE_S = 30.0  # a waiting ticket whose handler stopped asking this long ago (its page went away) loses its place
GUESS_S = 120.0  # a training's length before the app has seen one end
MIN_DURATION_S = 5.0  # a turn shorter than this did not train (refused, cancelled) and does not set the guess
TRAINING_HANDLERS = 8  # Start requests handled at once (one trains, the others show their place); more wait in Gradio


@dataclass
class Ticket:
    """One Start's place in line; the front one trains, and reports how long it has left."""

    number: int
    seen: float = field(default_factory=time.monotonic)  # the last time its handler asked (waiting) or reported
    started: float | None = None  # when it reached the front
    eta_s: float | None = None  # what the training at the front says it has left


@dataclass(frozen=True)
class Waiting:
    """Where a waiting ticket stands: 2 is second in line (one training ahead), and about how long until its turn."""

    place: int
    eta_s: float


class TrainingQueue:
    """A lock and a FIFO of tickets: `join`, then `wait` until it is the ticket's turn, then `leave` (always)."""

    def __init__(self, guess_s: float = GUESS_S):
        self._lock = threading.Lock()
        self._line: list[Ticket] = []
        self._numbers = itertools.count(1)
        self._durations: list[float] = []  # how long the trainings of this app took, newest last
        self._guess_s = guess_s

    def join(self) -> Ticket:
        """A new ticket at the back of the line."""
        with self._lock:
            ticket = Ticket(next(self._numbers))
            self._line.append(ticket)
            return ticket

    def leave(self, ticket: Ticket) -> None:
        """Give the place up (the training ended, or the wait was cancelled); the next ticket may start."""
        with self._lock:
            if ticket in self._line:
                self._line.remove(ticket)
                if ticket.started is not None:
                    took = time.monotonic() - ticket.started
                    if took >= MIN_DURATION_S:  # one refused at once (bad data, a cancel) says nothing of the next
                        self._durations = (self._durations + [took])[-5:]

    def report(self, ticket: Ticket, eta_s: float | None) -> None:
        """The training at the front says how long it has left (from its StepDone events)."""
        with self._lock:
            ticket.eta_s, ticket.seen = eta_s, time.monotonic()

    def _drop_stale(self, now: float) -> None:
        self._line = [t for t in self._line if t.started is not None or now - t.seen < STALE_S]

    def standing(self, ticket: Ticket) -> Waiting | None:
        """Where the ticket stands now, or None when it is its turn (it is then marked as training)."""
        now = time.monotonic()
        with self._lock:
            ticket.seen = now
            self._drop_stale(now)
            if ticket not in self._line:  # lost its place while nobody asked: back of the line
                self._line.append(ticket)
            place = self._line.index(ticket)
            if place == 0:
                ticket.started = ticket.started or now
                return None
            return Waiting(place + 1, self._wait_s(self._line[:place], now))

    def _wait_s(self, ahead: list[Ticket], now: float) -> float:
        """The front training's own ETA, plus a typical training's length for each one waiting before this one."""
        front = ahead[0]
        elapsed = now - front.started if front.started is not None else 0.0
        typical = (sum(self._durations) / len(self._durations) if self._durations
                   else elapsed + front.eta_s if front.eta_s is not None else self._guess_s)
        front_left = front.eta_s if front.eta_s is not None else max(typical - elapsed, 0.0)
        return front_left + typical * (len(ahead) - 1)

    def wait(self, ticket: Ticket, stop: threading.Event, poll_s: float = POLL_S) -> Iterator[Waiting]:
        """Yield the ticket's standing while others train ahead of it; return at its turn, or as soon as `stop` is
        set (then the ticket has left the line: the caller checks `stop`)."""
        while True:
            if stop.is_set():
                self.leave(ticket)
                return
            standing = self.standing(ticket)
            if standing is None:
                return
            yield standing
            stop.wait(poll_s)

    def __len__(self) -> int:
        with self._lock:
            return len(self._line)

    def busy(self) -> bool:
        """Whether a training holds the front of the line now."""
        with self._lock:
            return bool(self._line) and self._line[0].started is not None
