"""Finding a game's values in RAM: a search narrowed step by step over a movie, and values watched over its frames.

`layout` maps the RAM observation to data.json addresses, `codes` reads every
type code at every address at once, `search` is the narrowing itself (pure,
kept in a small file), `recorder` the sinks that take RAM from a replay, and
`hunt` / `watch` the verbs.
"""
