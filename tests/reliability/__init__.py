"""Reliability scripts (soak, crash, fuzz): run by hand, bounded versions run in the test suite."""
