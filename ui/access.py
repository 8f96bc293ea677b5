"""Who may change the library and export feedback, decided on the server inside each event's handler.

Hiding an event (`api_visibility="private"`) does not protect it: `POST /gradio_api/queue/join` with its fn_index
runs it. So every such handler takes the request and asks `Access.admin` first.
"""

from __future__ import annotations

import gradio as gr

from assistant.settings import Settings

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def parse_admins(spec: str | None) -> frozenset[str]:
    """User names from "alice,bob" (blank entries ignored)."""
    return frozenset(name.strip() for name in (spec or "").split(",") if name.strip())


class Access:
    """The rule: with a login, only ASSISTANT_ADMINS; without one, nobody unless ASSISTANT_ALLOW_LOCAL_CHANGES is
    set, and then only requests from this machine."""

    def __init__(self, settings: Settings) -> None:
        self.login = bool(settings.auth and settings.auth.strip())
        self.admins = parse_admins(settings.admins)
        self.local = settings.allow_local_changes

    def describe(self) -> str:
        """One line for the Library tab: who may add documents and export feedback here."""
        if self.login:
            if not self.admins:
                return "Adding documents and exporting feedback are off: no administrator is named (ASSISTANT_ADMINS)."
            return "Only administrators (ASSISTANT_ADMINS) may add documents and export feedback."
        if self.local:
            return "Single-user mode (ASSISTANT_ALLOW_LOCAL_CHANGES): anyone on this computer may add documents."
        return ("Adding documents and exporting feedback are off: set ASSISTANT_AUTH and ASSISTANT_ADMINS, or "
                "ASSISTANT_ALLOW_LOCAL_CHANGES=true on a single-user computer.")

    def allows(self, request: gr.Request | None) -> bool:
        """Whether this request's user may change the library (for showing the buttons; handlers still check)."""
        try:
            self.admin(request, "change the library")
        except gr.Error:
            return False
        return True

    def admin(self, request: gr.Request | None, action: str) -> str:
        """The name to record for a user allowed to `action`; gr.Error (nothing done) for anyone else."""
        if self.login:
            user = getattr(request, "username", None) if request is not None else None
            if not user:
                raise gr.Error(f"Please sign in to {action}.")
            if user not in self.admins:
                raise gr.Error(f"Only an administrator may {action}; ask one to do it (ASSISTANT_ADMINS).")
            return str(user)
        host = getattr(getattr(request, "client", None), "host", None)
        if not self.local:
            raise gr.Error(f"You cannot {action} here: this server has no login. An operator can set ASSISTANT_AUTH "
                           "and ASSISTANT_ADMINS, or ASSISTANT_ALLOW_LOCAL_CHANGES=true on a single-user computer.")
        if host not in LOOPBACK:
            raise gr.Error(f"You cannot {action} from another computer without a login (ASSISTANT_AUTH and "
                           "ASSISTANT_ADMINS).")
        return f"local@{host}"
