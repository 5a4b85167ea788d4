"""Sinks: consumers of the replay loop's FrameBatch values."""
