"""Imitation-learning datasets from movies: `dump` writes them (`retrotool dump-dataset`), `load` reads them.

    dump.py     movies -> a dataset folder, resumable, many movies in processes or on Ray
    sink.py     the DatasetSink: one replay -> one episode (observations, actions, rewards, infos)
    actions.py  a scenario's restricted actions -> Gym Retro's discrete action index
    npzip.py    writing .npz episodes column by column, compressed as they stream
    minari.py   the Minari form of a dataset
    folder.py   the folder layout, its manifest, and loading episodes back (frames stacked at load time)
    hf.py       the Hugging Face `datasets` form (--format hf)
    lerobot.py  LeRobot's layout (--format lerobot): parquet, lossless MP4, metadata
    stats.py    feature statistics as LeRobot states them
    stream.py   `iterate`: batches of steps, read lazily and shuffled in a bounded buffer
    pytorch.py  `StepStream`: the same as a PyTorch IterableDataset (needs torch)

>>> from retrotool import datasets
>>> for episode in datasets.load("out"):
...     episode.observations.shape
"""

from retrotool.datasets.folder import MANIFEST, Episode, load, read_manifest
from retrotool.datasets.stream import iterate

__all__ = ["MANIFEST", "Episode", "iterate", "load", "read_manifest"]
