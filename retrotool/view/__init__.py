"""Showing a game to a person: a window, a frame clock, its sound."""
