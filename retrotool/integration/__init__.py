"""Making game integrations: states, the game folder (data.json, scenario.json, metadata.json), and checking them.

`statefiles` reads and recognises savestates (stable-retro's gzipped files,
raw core states, other emulators' formats), `folders` writes and edits game
folders where retrotool may write them, `states` (`retrotool state`),
`scaffold` (`retrotool integrate`) and `check` (`retrotool scenario check`)
are the verbs.
"""
