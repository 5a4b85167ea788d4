"""Sinks: the contract between the replay loop and what consumes its frames, and the generic sinks (trace, verify)."""
