"""The byte layout shared by every sketch: a format version byte, a kind byte, then a
little-endian struct header and raw arrays. Compact and pickle-free, and a reader refuses
bytes of another version or kind with a message that says which. Also the one base64
form of bytes inside JSON (:func:`to_text`)."""

from __future__ import annotations

import base64
import struct

import numpy as np

FORMAT_VERSION = 1


class Reader:
    """Reads a sketch's bytes front to back; every shortfall is a ValueError, not garbage."""

    def __init__(self, raw: bytes, kind: bytes, what: str, version: int = FORMAT_VERSION) -> None:
        self.raw, self.what = memoryview(raw), what
        if len(raw) < 2:
            raise ValueError(f"{what} sketch bytes too short ({len(raw)} bytes)")
        if raw[1:2] != kind:  # first: another kind may count its versions apart
            raise ValueError(f"not a {what} sketch (kind byte {bytes(raw[1:2])!r})")
        if raw[0] != version:
            raise ValueError(
                f"unsupported {what} sketch format version {raw[0]} "
                f"(this code reads version {version})"
            )
        self.offset = 2

    def take(self, size: int) -> memoryview:
        end = self.offset + size
        if end > len(self.raw):
            raise ValueError(f"{self.what} sketch bytes truncated ({len(self.raw)} bytes)")
        chunk, self.offset = self.raw[self.offset : end], end
        return chunk

    def rest(self) -> memoryview:
        """Everything not read yet (a nested blob that runs to the end)."""
        return self.take(len(self.raw) - self.offset)

    def unpack(self, header: struct.Struct) -> tuple:
        return header.unpack(self.take(header.size))

    def array(self, dtype: str, count: int) -> np.ndarray:
        """A fresh, writable, native-endian copy of ``count`` items."""
        item = np.dtype(dtype)
        raw = self.take(item.itemsize * count)
        return np.frombuffer(raw, dtype=item).astype(item.newbyteorder("="))

    def done(self) -> None:
        if self.offset != len(self.raw):
            raise ValueError(f"{self.what} sketch bytes have {len(self.raw) - self.offset} extra")


def header(kind: bytes, version: int = FORMAT_VERSION) -> bytes:
    """``version``: a sketch whose layout changed counts its own versions up from 1."""
    return bytes([version]) + kind


def to_text(raw: bytes) -> str:
    """Bytes as ASCII base64, how binary sketches and messages travel inside JSON.

    >>> from_text(to_text(b"\\x01N"))
    b'\\x01N'
    """
    return base64.b64encode(raw).decode("ascii")


def from_text(text: str) -> bytes:
    """Inverse of :func:`to_text`; text that is not base64 raises ValueError
    (binascii.Error)."""
    return base64.b64decode(text, validate=True)
