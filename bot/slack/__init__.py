"""Bolt wiring only: listeners hand the text to the command dispatch; the ASGI app."""
