"""Process life: what `hub serve` does to its heap once started."""

from __future__ import annotations

import gc
import weakref

from aiohttp import web

from hub.runtime import freeze_startup_heap


class _Node:
    """An object in a reference cycle with itself, as startup leaves many."""

    def __init__(self) -> None:
        self.me = self


async def test_freezing_the_startup_heap_frees_its_garbage_and_freezes_the_rest() -> None:
    kept = _Node()
    garbage = _Node()
    gone = weakref.ref(garbage)
    del garbage
    try:
        await freeze_startup_heap(web.Application())
        # Garbage is collected before the freeze; frozen, it would never be.
        assert gone() is None
        # What is kept is out of the collector's generations, so its passes no longer walk it.
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())
    finally:
        gc.unfreeze()
    assert any(o is kept for o in gc.get_objects())
