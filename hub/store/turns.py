"""Turns at a SQLite store's one connection: the windows' requests before delivery work.

SQLite has one writer, so each hub process keeps one connection to it, and everything the
process does with the store takes turns at it. A window waiting to file must not queue behind
the dispatcher's many transactions: a waiting request takes the next turn, delivery work the
turns nobody at a window is waiting for, but for one in every `front_run + 1` while both
wait, so that a morning's rush of filings cannot stop delivery altogether. SQLAlchemy's pools
serve first come, first served, and asyncio's locks neither have lanes nor stop a newcomer from
taking a turn that was just given to a waiter that has not run yet, hence this small class.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Turns:
    """One connection's turns: the front lane's waiters (API requests) first, then the back
    lane's (the dispatcher, the relay), each lane first come, first served; once `front_run`
    turns in a row have been handed to the front lane, the next goes to the back lane if anyone
    waits there. A turn given back is handed straight to the next waiter, so no newcomer takes
    it in between."""

    def __init__(self, timeout: float = 30.0, front_run: int = 8) -> None:
        self.timeout = timeout
        """Seconds a wait may last before TimeoutError (as a pool's checkout would): in one
        process, a block holding the connection that waits for a second one, or for something
        that waits for the first."""
        self.front_run = front_run
        """Turns handed to requests in a row before delivery work, waiting, gets one. Before
        there was such a bound, 16 windows filing as fast as the hub answered kept delivery
        work from the store for over 30 s, until its waits timed out (the memory benchmark).
        The price: in such a rush, one filing in `front_run` waits for one of delivery work's
        transactions."""
        self._front_in_a_row = 0
        self._taken = False
        self._lanes: tuple[deque[asyncio.Future[None]], deque[asyncio.Future[None]]] = (
            deque(),
            deque(),
        )

    @property
    def taken(self) -> bool:
        """Someone holds the turn."""
        return self._taken

    def waiting(self, *, front: bool) -> int:
        """How many wait in a lane."""
        return sum(not turn.done() for turn in self._lanes[0 if front else 1])

    async def take(self, *, front: bool) -> None:
        """Wait for a turn, in the front lane or the back one; TimeoutError after `timeout`."""
        if not self._taken:
            self._taken = True
            return
        turn = asyncio.get_running_loop().create_future()
        self._lanes[0 if front else 1].append(turn)
        try:
            async with asyncio.timeout(self.timeout):
                await turn
        except (asyncio.CancelledError, TimeoutError):
            if turn.done() and not turn.cancelled():
                self.give_back()  # handed over just as the wait ended: pass it on
            raise

    def give_back(self) -> None:
        """End a turn: the next waiter's begins, or the connection is free."""
        front, back = self._lanes
        back_first = self._front_in_a_row >= self.front_run and self.waiting(front=False) > 0
        for lane in (back, front) if back_first else (front, back):
            while lane:
                turn = lane.popleft()
                if not turn.done():  # a cancelled wait is passed over
                    self._front_in_a_row = self._front_in_a_row + 1 if lane is front else 0
                    turn.set_result(None)
                    return
        self._front_in_a_row = 0
        self._taken = False
