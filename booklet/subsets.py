"""One embedded subset per font in a PDF joined from parts, made the way WeasyPrint makes its own.

Each part typeset alone embeds its own subset of every font it uses. WeasyPrint keeps the
original glyph ids in its subsets (HarfBuzz's "retain gids"), and the PDF fonts map glyph ids
straight to character ids, so one subset of the original font with every glyph the parts use
serves all of their font dictionaries: the join points them at it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def merge(writer: Any, originals: Iterable[Path], *, cache: Path | None = None) -> int:
    """Give the font dictionaries of ``writer`` one shared subset per font of ``originals``; how many were given one.

    The parts name a font alike (WeasyPrint derives the name from the font's description), so
    one subset of each name tells which of ``originals`` the name stands for. Fonts that are not
    among them (a fallback font of the machine) keep their own subsets. With ``cache`` (a
    folder), a subset made before for the same glyphs is read back.
    """
    from pypdf.generic import NameObject, NumberObject, StreamObject

    by_identity = _identities(originals)
    groups: dict[str, list[tuple[Any, str, set[int]]]] = {}
    for obj in writer._objects:
        if not isinstance(obj, dict) or obj.get("/Type") != "/Font" or obj.get("/Subtype") not in ("/CIDFontType0", "/CIDFontType2"):
            continue
        if obj.get("/CIDToGIDMap", "/Identity") != "/Identity" or "/FontDescriptor" not in obj:
            continue
        descriptor = obj["/FontDescriptor"].get_object()
        key = "/FontFile3" if "/FontFile3" in descriptor else "/FontFile2" if "/FontFile2" in descriptor else None
        if key is not None:
            groups.setdefault(f"{descriptor.get('/FontName')} {key}", []).append((descriptor, key, _glyphs(obj.get("/W"))))
    given = 0
    for members in groups.values():
        if len(members) < 2:
            continue
        descriptor, key, _ = members[0]
        original = by_identity.get(_identity(descriptor[key].get_object().get_data()))
        if original is None:
            continue
        data = _subset(original, set().union(*(used for _, _, used in members)), cache=cache)
        if data is None:
            continue
        first = descriptor[key].get_object()
        stream = StreamObject()
        for name, value in first.items():
            if name not in ("/Length", "/Filter", "/DecodeParms", "/Length1"):
                stream[NameObject(name)] = value
        if key == "/FontFile2":
            stream[NameObject("/Length1")] = NumberObject(len(data))
        stream.set_data(data)
        reference = writer._add_object(stream)
        for descriptor, key, _ in members:
            old = descriptor.raw_get(key)
            descriptor[NameObject(key)] = reference
            if hasattr(old, "idnum") and old.pdf is writer:
                writer._objects[old.idnum - 1] = None  # only its descriptor pointed at it
        given += len(members)
    return given


def _glyphs(widths: Any) -> set[int]:
    """The glyph ids a /W array gives widths for: the glyphs the font dictionary's text uses."""
    found: set[int] = set()
    items = list(widths.get_object()) if widths is not None else []
    index = 0
    while index < len(items):
        first = int(items[index])
        following = items[index + 1].get_object() if index + 1 < len(items) else None
        if isinstance(following, list):
            found.update(range(first, first + len(following)))
            index += 2
        else:
            found.update(range(first, int(following) + 1))
            index += 3
    return found


_IDENTITIES: dict[tuple[str, int, int], tuple[object, ...] | None] = {}


def _identities(paths: Iterable[Path]) -> dict[tuple[object, ...], Path]:
    """Font files by what their subsets keep of them: PostScript name, revision, creation time, glyph count."""
    out: dict[tuple[object, ...], Path] = {}
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        memo = (str(path), stat.st_size, stat.st_mtime_ns)
        if memo not in _IDENTITIES:
            _IDENTITIES[memo] = _identity(path.read_bytes())
        identity = _IDENTITIES[memo]
        if identity is not None:
            out.setdefault(identity, path)
    return out


def _identity(data: bytes) -> tuple[object, ...] | None:
    """What a font and its subsets share; a subset keeps every glyph id, so it has at most the original's glyphs."""
    import io

    from fontTools.ttLib import TTFont, TTLibError

    try:
        with TTFont(io.BytesIO(data), lazy=True) as font:
            head = font["head"]
            return (font["name"].getDebugName(6), head.fontRevision, head.created, head.unitsPerEm)
    except (TTLibError, KeyError, OSError, AssertionError, ValueError):
        return None


def _subset(original: Path, glyphs: set[int], *, cache: Path | None) -> bytes | None:
    """``original`` cut down to ``glyphs``, keeping their ids, as WeasyPrint cuts down its own."""
    stored = None
    if cache is not None:
        key = hashlib.sha256(original.read_bytes() + repr(sorted(glyphs)).encode()).hexdigest()[:32]
        stored = cache / f"{key}.font"
        try:
            return stored.read_bytes()
        except OSError:
            pass
    from weasyprint.pdf.fonts import Font
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    if not harfbuzz_subset or not harfbuzz.hb_version_atleast(4, 1, 0):
        return None  # WeasyPrint subsets with fontTools then, without the same guarantees: keep the parts' own
    face = _face(original.read_bytes())
    if face is None:
        return None
    holder = _Holder(face, original)
    Font._harfbuzz_subset(holder, dict.fromkeys(sorted(glyphs), ""), False)
    if holder.file_content is None:
        return None
    if stored is not None:
        from booklet.output import write_cache

        write_cache(stored, holder.file_content)
    return holder.file_content


class _Holder:
    """What WeasyPrint's subsetting reads of a font and writes back."""

    def __init__(self, face: Any, path: Path):
        self.hb_face = face
        self.missing = False
        self.family = path.stem
        self.file_content: bytes | None = None


_HB: Any = None


def _face(data: bytes) -> Any:
    """A HarfBuzz face of ``data``, as a pointer of WeasyPrint's own HarfBuzz bindings."""
    global _HB
    import cffi
    from weasyprint.text import ffi as weasyprint_ffi

    if _HB is None:
        own = cffi.FFI()
        own.cdef(
            """
            typedef struct hb_blob_t hb_blob_t;
            typedef struct hb_face_t hb_face_t;
            hb_blob_t * hb_blob_create (const char *data, unsigned int length, int mode, void *user_data, void *destroy);
            hb_face_t * hb_face_create (hb_blob_t *blob, unsigned int index);
            void hb_blob_destroy (hb_blob_t *blob);
            void hb_face_destroy (hb_face_t *face);
            """
        )
        library = weasyprint_ffi._dlopen(own, "harfbuzz", "harfbuzz-0.0", "libharfbuzz-0", "libharfbuzz.so.0", "libharfbuzz.0.dylib")
        _HB = (own, library)
    own, library = _HB
    buffer = own.new("char[]", data)
    # HB_MEMORY_MODE_DUPLICATE (0): HarfBuzz keeps its own copy of the bytes.
    blob = library.hb_blob_create(buffer, len(data), 0, own.NULL, own.NULL)
    face = library.hb_face_create(blob, 0)
    library.hb_blob_destroy(blob)
    if face == own.NULL:
        return None
    address = int(own.cast("uintptr_t", face))
    theirs = weasyprint_ffi.ffi
    return theirs.gc(theirs.cast("hb_face_t *", address), weasyprint_ffi.harfbuzz.hb_face_destroy)
