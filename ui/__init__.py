"""The browser chat UI of Federation Advisor (Gradio): `build_app(assistant, settings)` and `serve(settings)`."""

from .app import build_app, launch, serve

__all__ = ["build_app", "launch", "serve"]
