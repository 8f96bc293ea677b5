"""Limits on what one visitor can do: feedback per hour, and a growing wait after failed sign-ins per user and address."""

from __future__ import annotations

import contextvars
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from fastapi import HTTPException

# The address of the request being handled (set by ClientAddress; Gradio's auth function is given only the name and
# password, and runs in the request's own context).
CLIENT_ADDRESS: contextvars.ContextVar[str] = contextvars.ContextVar("client_address", default="")
MAX_KEYS = 10_000  # visitors remembered at once: the memory these limits take is bounded, the oldest forgotten first


def visitor(request) -> str:
    """Who a Gradio request comes from: the signed-in user, else the browser session."""
    user = getattr(request, "username", None)
    return f"user:{user}" if user else f"session:{getattr(request, 'session_hash', None) or 'anonymous'}"


class RateLimit:
    """At most `limit` events per `window_s` seconds for each key (a sliding window)."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self._clock = limit, window_s, clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count one event for `key`; False (and not counted) when the key is over its limit."""
        now = self._clock()
        with self._lock:
            events = self._events.pop(key, None) or deque()
            while events and events[0] <= now - self.window_s:
                events.popleft()
            allowed = len(events) < self.limit
            if allowed:
                events.append(now)
            self._events[key] = events
            while len(self._events) > MAX_KEYS:
                self._events.popitem(last=False)
            return allowed


class LoginThrottle:
    """Gradio's auth function with a growing wait: after `free` failed sign-ins for a user or from an address, further
    tries for it are refused (HTTP 429) for 1 s, then 2, 4 ... up to `max_wait_s`, whatever the password."""

    def __init__(self, logins: list[tuple[str, str]], *, free: int = 3, max_wait_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._logins = dict(logins)
        self.free, self.max_wait_s, self._clock = free, max_wait_s, clock
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # key -> (failures, refused until)
        self._lock = threading.Lock()

    def __call__(self, username: str, password: str) -> bool:
        """True for a right name and password that is not waiting out earlier failures; HTTPException 429 while it is."""
        import hmac

        keys = [f"user:{username.strip().lower()}", f"address:{CLIENT_ADDRESS.get() or 'unknown'}"]
        now = self._clock()
        with self._lock:
            until = max(self._failures.get(k, (0, 0.0))[1] for k in keys)
            if until > now:
                raise HTTPException(status_code=429, detail=f"Too many failed sign-ins: try again in {until - now:.0f} s.")
            expected = self._logins.get(username)
            ok = expected is not None and hmac.compare_digest(password.encode(), expected.encode())
            for key in keys:
                if ok:
                    self._failures.pop(key, None)
                    continue
                count = self._failures.pop(key, (0, 0.0))[0] + 1
                wait = 0.0 if count <= self.free else min(2.0 ** (count - self.free - 1), self.max_wait_s)
                self._failures[key] = (count, now + wait)
            while len(self._failures) > MAX_KEYS:
                self._failures.popitem(last=False)
            return ok


class ClientAddress:
    """ASGI middleware that makes each HTTP request's client address visible to the auth function (CLIENT_ADDRESS)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        """Run the request with its client address set."""
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        token = CLIENT_ADDRESS.set((scope.get("client") or ("",))[0] or "")
        try:
            await self.app(scope, receive, send)
        finally:
            CLIENT_ADDRESS.reset(token)
