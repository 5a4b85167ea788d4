"""``Input Log.txt`` ↔ button arrays, vectorised with numpy: the names callers import.

Reading is in logreader.py (:func:`decode_stream` for logs as the writers make them,
:func:`decode_pieces` for any other shape, both piece by piece as the entry
inflates), on the decoder and limits of logdecoder.py; writing is logwriter.py's
:class:`EncodedLog`.
"""

from retrotool.movie.logdecoder import DecodedLog
from retrotool.movie.logreader import decode, decode_pieces, decode_stream
from retrotool.movie.logwriter import EncodedLog

__all__ = ["DecodedLog", "EncodedLog", "decode", "decode_pieces", "decode_stream"]
