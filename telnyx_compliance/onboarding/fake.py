"""Small, valid documents and synthetic values for sandbox runs, examples and benchmarks.

The documents are real files a viewer opens (a one-page PDF with a few lines of text, a PNG), built with the
standard library only.
"""

from __future__ import annotations

import random
import re
import struct
import zlib
from collections.abc import Sequence

_PDF_ESCAPES = str.maketrans({"\\": "\\\\", "(": "\\(", ")": "\\)"})


def minimal_pdf(lines: Sequence[str], *, title: str = "Document") -> bytes:
    """A one-page A4 PDF showing ``lines`` in Helvetica, with a correct cross-reference table."""
    text_ops = ["BT", "/F1 16 Tf", "56 780 Td", f"({title.translate(_PDF_ESCAPES)}) Tj", "/F1 11 Tf"]
    for line in lines:
        safe = line.encode("latin-1", "replace").decode("latin-1").translate(_PDF_ESCAPES)
        text_ops += ["0 -22 Td", f"({safe}) Tj"]
    text_ops.append("ET")
    stream = "\n".join(text_ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def minimal_png(width: int = 64, height: int = 40, *, seed: int = 0) -> bytes:
    """A small RGB PNG: a soft two-colour gradient, different per ``seed``."""
    rng = random.Random(seed)
    top = [rng.randrange(150, 256) for _ in range(3)]
    bottom = [rng.randrange(0, 120) for _ in range(3)]
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        colour = bytes(int(t + (b - t) * y / max(height - 1, 1)) for t, b in zip(top, bottom, strict=True))
        rows += colour * width

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


_DIGITS = re.compile(r"\d")


def vary_example(example: str, rng: random.Random) -> str:
    """``example`` with its digits replaced by random ones: same shape, so the same regex still matches.

    Only used when the caller has checked the varied value against the requirement's criteria.
    """
    return _DIGITS.sub(lambda _: str(rng.randrange(10)), example)


__all__ = ["minimal_pdf", "minimal_png", "vary_example"]
