"""One embedded subset per font in a PDF joined from parts, made the way WeasyPrint makes its own.

Each part typeset alone embeds its own subset of every font it uses. WeasyPrint keeps the
original glyph ids in its subsets (HarfBuzz's "retain gids"), and the PDF fonts map glyph ids
straight to character ids, so one subset of the original font with every glyph the parts use
serves all of their font dictionaries: the join points them at it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
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
    data = _harfbuzz_subset(original.read_bytes(), glyphs)
    if data is not None and stored is not None:
        from booklet.output import write_cache

        write_cache(stored, data)
    return data


# The HarfBuzz calls WeasyPrint's subsetting makes, bound here: importing WeasyPrint for them
# costs a process that has not (the join after an edit that brings new glyphs) a sixth of a second.
_DECLARATIONS = """
    typedef struct hb_blob_t hb_blob_t;
    typedef struct hb_face_t hb_face_t;
    typedef struct hb_set_t hb_set_t;
    typedef struct hb_subset_input_t hb_subset_input_t;
    typedef uint32_t hb_codepoint_t;
    typedef uint32_t hb_tag_t;
    hb_blob_t * hb_blob_create (const char *data, unsigned int length, int mode, void *user_data, void *destroy);
    hb_face_t * hb_face_create (hb_blob_t *blob, unsigned int index);
    void hb_blob_destroy (hb_blob_t *blob);
    void hb_face_destroy (hb_face_t *face);
    hb_blob_t * hb_face_reference_blob (hb_face_t *face);
    const char * hb_blob_get_data (hb_blob_t *blob, unsigned int *length);
    hb_tag_t hb_tag_from_string (const char *str, int len);
    void hb_set_add_sorted_array (hb_set_t *set, const hb_codepoint_t *sorted_codepoints, unsigned int num_codepoints);
    int hb_version_atleast (unsigned int major, unsigned int minor, unsigned int micro);
"""
_SUBSET_DECLARATIONS = """
    hb_subset_input_t * hb_subset_input_create_or_fail (void);
    void hb_subset_input_destroy (hb_subset_input_t *input);
    hb_set_t * hb_subset_input_glyph_set (hb_subset_input_t *input);
    hb_set_t * hb_subset_input_set (hb_subset_input_t *input, int set_type);
    void hb_subset_input_set_flags (hb_subset_input_t *input, unsigned int value);
    hb_face_t * hb_subset_or_fail (hb_face_t *source, const hb_subset_input_t *input);
"""
# hb_subset_flags_t and hb_subset_sets_t values, as HarfBuzz's hb-subset.h has them.
_NO_HINTING, _RETAIN_GIDS, _DESUBROUTINIZE, _PASSTHROUGH_UNRECOGNIZED = 0x1, 0x2, 0x4, 0x20
_DROP_TABLE_TAG = 3
# The tables WeasyPrint drops from its subsets, in the order of their tags' values.
_DROPPED = (b"BASE", b"DSIG", b"EBDT", b"EBLC", b"EBSC", b"GPOS", b"GSUB", b"JSTF", b"LTSH", b"PCLT", b"SVG ")
# Each library by its Linux file name first, which the loader finds without a search, then by the names it has elsewhere.
_HARFBUZZ = ("libharfbuzz.so.0", "libharfbuzz.0.dylib", "libharfbuzz-0", "harfbuzz", "harfbuzz-0.0")
_HARFBUZZ_SUBSET = (
    "libharfbuzz-subset.so.0",
    "libharfbuzz-subset.0.dylib",
    "libharfbuzz-subset-0",
    "harfbuzz-subset",
    "harfbuzz-subset-0.0",
)

_HB: Any = None


def _bindings() -> tuple[Any, Any, Any] | None:
    """cffi, HarfBuzz and HarfBuzz's subsetter (4.1 or later, as WeasyPrint asks), or None without them."""
    global _HB
    if _HB is None:
        import cffi

        ffi = cffi.FFI()
        ffi.cdef(_DECLARATIONS)
        ffi.cdef(_SUBSET_DECLARATIONS)
        harfbuzz, subset = _open(ffi, _HARFBUZZ), _open(ffi, _HARFBUZZ_SUBSET)
        usable = harfbuzz is not None and subset is not None and harfbuzz.hb_version_atleast(4, 1, 0)
        _HB = (ffi, harfbuzz, subset) if usable else False
    return _HB or None


def _open(ffi: Any, names: Iterable[str]) -> Any:
    for name in names:
        try:
            return ffi.dlopen(name)
        except OSError:
            continue
    return None


def _harfbuzz_subset(data: bytes, glyphs: set[int]) -> bytes | None:
    """The font ``data`` cut down to ``glyphs`` in the two passes of WeasyPrint's ``Font._harfbuzz_subset`` (without hinting)."""
    bound = _bindings()
    if bound is None or not glyphs:
        return None  # WeasyPrint subsets with fontTools then, without the same guarantees: keep the parts' own
    ffi, harfbuzz, subset = bound
    # HB_MEMORY_MODE_DUPLICATE (0): HarfBuzz keeps its own copy of the bytes.
    blob = harfbuzz.hb_blob_create(ffi.new("char[]", data), len(data), 0, ffi.NULL, ffi.NULL)
    face = ffi.gc(harfbuzz.hb_face_create(blob, 0), harfbuzz.hb_face_destroy)
    harfbuzz.hb_blob_destroy(blob)
    if face == ffi.NULL:
        return None
    options = ffi.gc(subset.hb_subset_input_create_or_fail(), subset.hb_subset_input_destroy)
    if options == ffi.NULL:
        return None

    def add(target: Any, values: Sequence[int]) -> None:
        harfbuzz.hb_set_add_sorted_array(target, ffi.new("hb_codepoint_t[]", list(values)), len(values))

    # First the glyphs used, at their own ids, with the tables WeasyPrint does not embed dropped.
    add(subset.hb_subset_input_glyph_set(options), sorted(glyphs))
    subset.hb_subset_input_set_flags(options, _RETAIN_GIDS | _PASSTHROUGH_UNRECOGNIZED | _DESUBROUTINIZE)
    add(subset.hb_subset_input_set(options, _DROP_TABLE_TAG), [harfbuzz.hb_tag_from_string(tag, -1) for tag in _DROPPED])
    face = ffi.gc(subset.hb_subset_or_fail(face, options), harfbuzz.hb_face_destroy)
    if face == ffi.NULL:
        return None
    # Then every id up to the last one used, which drops the empty glyphs after it.
    add(subset.hb_subset_input_glyph_set(options), range(max(glyphs) + 1))
    subset.hb_subset_input_set_flags(options, _PASSTHROUGH_UNRECOGNIZED | _DESUBROUTINIZE | _NO_HINTING)
    face = ffi.gc(subset.hb_subset_or_fail(face, options), harfbuzz.hb_face_destroy)
    if face == ffi.NULL:
        return None
    blob = harfbuzz.hb_face_reference_blob(face)
    try:
        length = ffi.new("unsigned int *")
        pointer = harfbuzz.hb_blob_get_data(blob, length)
        return ffi.unpack(pointer, length[0]) if length[0] else None
    finally:
        harfbuzz.hb_blob_destroy(blob)
