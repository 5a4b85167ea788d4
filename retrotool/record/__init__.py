"""Recording movies: from a script, by a person at a window, by an agent in Python, and out of a journal."""
