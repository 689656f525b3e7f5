"""Scrape, extract and archive KBS News and pages built like it."""

from __future__ import annotations

__version__ = "0.1.0"
