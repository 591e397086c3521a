"""SIGINT, SIGTERM and SIGHUP, from the first line of a command to its last.

The command line installs the handlers before its heavy imports (:func:`install`): a signal
that comes while a command loads its models is remembered and ends the command as soon as
it starts (:func:`start`), one line and exit 128 + N, never a lost signal or a traceback.
Inside a loop that stops cleanly on its own (``run``'s frame loop, ``batch``'s queue), a
signal only sets a flag and calls the loop's ``on_stop`` (:func:`cooperative`); elsewhere it
raises :class:`Interrupted` (a KeyboardInterrupt: ``finally`` blocks run, atomic writes
leave nothing half-written).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


class Interrupted(KeyboardInterrupt):
    """A stop signal ended the command; ``signum`` is the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _State:
    def __init__(self) -> None:
        self.signal: int | None = None  # the first stop signal received
        self.stop = threading.Event()
        self.raising = False  # raise Interrupted from the handler (outside cooperative loops)
        self.installed = False
        self.callbacks: list[Callable[[], None]] = []


_STATE = _State()


def _handle(signum: int, _frame: Any) -> None:
    _STATE.signal = _STATE.signal or signum
    _STATE.stop.set()
    for callback in list(_STATE.callbacks):
        callback()
    if _STATE.raising and not _STATE.callbacks:
        raise Interrupted(signum)


def install() -> None:
    """Handle the stop signals from now on (main thread only; an inherited SIG_IGN is replaced:
    a background job's Ctrl-C or ``kill -INT`` must still stop it). Signals are only recorded
    until :func:`start`."""
    if threading.current_thread() is not threading.main_thread() or _STATE.installed:
        return
    for sig in STOP_SIGNALS:
        signal.signal(sig, _handle)
    _STATE.installed = True


def start() -> None:
    """From now on a stop signal raises :class:`Interrupted`; one that came before raises it now."""
    _STATE.raising = True
    if _STATE.signal is not None:
        raise Interrupted(_STATE.signal)


def signal_name(signum: int) -> str:
    """ "SIGINT" for 2, and so on."""
    return signal.Signals(signum).name


def received() -> int | None:
    """The stop signal received so far, or None."""
    return _STATE.signal


@contextlib.contextmanager
def cooperative(on_stop: Callable[[], None] | None = None) -> Iterator[threading.Event]:
    """A block that stops on its own: a stop signal sets the yielded event and calls ``on_stop``
    instead of raising. Without :func:`install` (the Python API) the handlers are installed for
    the block only, in the main thread, and the previous ones restored after."""
    own: dict[int, Any] = {}
    if not _STATE.installed and threading.current_thread() is threading.main_thread():
        for sig in STOP_SIGNALS:
            own[sig] = signal.signal(sig, _handle)
    if not _STATE.installed:  # a fresh flag per block: the API may run several in one process
        _STATE.signal = None
        _STATE.stop.clear()
    callback = on_stop or (lambda: None)
    _STATE.callbacks.append(callback)
    try:
        if _STATE.signal is not None:
            callback()
        yield _STATE.stop
    finally:
        _STATE.callbacks.remove(callback)
        for sig, handler in own.items():
            signal.signal(sig, handler)
