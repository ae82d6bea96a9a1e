"""Bolt wiring only: listeners parse, ask the domain, render, and answer."""
