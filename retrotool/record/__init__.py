"""Recording: input sources (scripted now, a person later) and the movie builder."""
