"""Images for an edition: Pillow resampling, orientation, CMYK through the profile, and a cache."""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

from booklet.errors import BookletError
from booklet.output import write_atomic
from booklet.sandbox import cache_url
from booklet.units import MM_PER_UNIT

log = logging.getLogger(__name__)

MM_PER_INCH = 25.4
CACHE_VERSION = b"booklet-images-1"


class ImageError(BookletError):
    """An image cannot be read, or is too large to decode safely."""


@dataclass(frozen=True)
class ImagePolicy:
    """How an edition wants its raster images."""

    max_ppi: float = 300.0
    cmyk: bool = False
    jpeg_quality: int = 90


@dataclass(frozen=True)
class Processed:
    """A processed image file and its resolution for CSS ``image-resolution``."""

    path: Path
    dpi: float
    pixels: tuple[int, int]


class CmykProfile:
    """An output (CMYK) ICC profile, used to convert sRGB colours and images."""

    def __init__(self, path: Path, *, intent: str = "relative-colorimetric"):
        self.path = path
        try:
            # From memory: LittleCMS reads a profile opened from a file as it goes, and processes
            # forked from this one would share the file's read position.
            self.profile = ImageCms.getOpenProfile(io.BytesIO(path.read_bytes()))
        except (OSError, ImageCms.PyCMSError) as exc:
            raise BookletError(
                f"cannot read the ICC profile: {exc}", file=path, hint="point to a valid CMYK output profile (.icc)"
            ) from None
        space = self.profile.profile.xcolor_space.strip()
        if space != "CMYK":
            raise BookletError(
                f"the ICC profile is {space}, not CMYK",
                file=path,
                hint="a print edition needs a CMYK output profile, such as the FOGRA39 one in assets/icc",
            )
        self.intent = {
            "perceptual": ImageCms.Intent.PERCEPTUAL,
            "relative-colorimetric": ImageCms.Intent.RELATIVE_COLORIMETRIC,
            "saturation": ImageCms.Intent.SATURATION,
            "absolute-colorimetric": ImageCms.Intent.ABSOLUTE_COLORIMETRIC,
        }[intent]
        self._memo: dict[str, tuple[float, float, float, float]] = {}

    @cached_property
    def transform(self) -> ImageCms.ImageCmsTransform:
        return ImageCms.buildTransform(ImageCms.createProfile("sRGB"), self.profile, "RGB", "CMYK", renderingIntent=self.intent)

    @cached_property
    def digest(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]

    def cmyk(self, hex_colour: str) -> tuple[float, float, float, float]:
        """An sRGB hex colour as CMYK fractions (0 to 1) through the profile."""
        key = hex_colour.upper()
        if key not in self._memo:
            rgb = tuple(int(key[i : i + 2], 16) for i in (1, 3, 5))
            pixel = ImageCms.applyTransform(Image.new("RGB", (1, 1), rgb), self.transform).getpixel((0, 0))
            self._memo[key] = tuple(round(v / 255, 3) for v in pixel)
        return self._memo[key]

    def image(self, image: Image.Image) -> Image.Image:
        return ImageCms.applyTransform(image.convert("RGB"), self.transform)


def cmyk_profile(path: Path, *, intent: str) -> CmykProfile:
    """The profile at ``path``, made once in a process while the file is unchanged: building its transform costs a part's worth of time."""
    try:
        stat = path.stat()
    except OSError:
        return CmykProfile(path, intent=intent)  # reports the unreadable file
    return _cmyk_profile(path, intent, stat.st_mtime_ns, stat.st_size, os.getpid())


@functools.lru_cache(maxsize=4)
def _cmyk_profile(path: Path, intent: str, mtime: int, size: int, process: int) -> CmykProfile:
    # By process too: each worker makes its own, rather than use the C objects its parent made.
    return CmykProfile(path, intent=intent)


def process(
    source: Path, *, placed_mm: tuple[float, float], policy: ImagePolicy, cache: Path, profile: CmykProfile | None = None
) -> Processed:
    """Resample ``source`` for its placed size and the edition; reuse the cached result if any."""
    data = source.read_bytes()
    params = f"{placed_mm[0]:.2f}x{placed_mm[1]:.2f}|{policy}|{profile.digest if profile and policy.cmyk else ''}".encode()
    key = hashlib.sha256(CACHE_VERSION + params + data).hexdigest()[:32]
    for existing in cache.glob(f"{key}-*dpi.*"):
        try:
            with Image.open(existing) as image:
                log.debug("Image cache hit for %s", source.name)
                return Processed(existing, dpi=_dpi_from_name(existing), pixels=image.size)
        except OSError:
            # Cache files are not flushed to disk: after a crash one may be empty. It is made again.
            existing.unlink(missing_ok=True)

    image = _open(source, data)
    image = ImageOps.exif_transpose(image)
    width_px = max(1, round(placed_mm[0] / MM_PER_INCH * policy.max_ppi))
    height_px = max(1, round(placed_mm[1] / MM_PER_INCH * policy.max_ppi))
    original = image.size
    if image.width > width_px and image.height > height_px:
        # Never upsample; keep the aspect ratio and reach at least the target on both sides.
        scale = max(width_px / image.width, height_px / image.height)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if policy.cmyk:
        if has_alpha:  # CMYK JPEG has no alpha: flatten onto paper white
            image = _flatten(image)
        image = profile.image(image) if profile else image.convert("CMYK")
        suffix, options = ".jpg", {"quality": policy.jpeg_quality, "optimize": True}
    elif has_alpha:
        image = image.convert("RGBA")
        suffix, options = ".png", {"optimize": True}
    elif source.suffix.lower() in (".jpg", ".jpeg") or image.mode not in ("P", "1", "L", "RGB"):
        image = image.convert("RGB")
        suffix, options = ".jpg", {"quality": policy.jpeg_quality, "optimize": True}
    else:
        suffix, options = ".png", {"optimize": True}
    # CSS px are 1/96 in: this resolution keeps the image's intrinsic size as it was.
    dpi = round(96.0 * image.width / original[0], 4)
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"{key}-{dpi:.4f}dpi{suffix}"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG" if suffix == ".jpg" else "PNG", **options)  # no exif/icc: metadata stripped
    # A unique temporary name: two builds (or two workers) may make the same image at once.
    write_atomic(target, buffer.getvalue(), sync=False)
    return Processed(target, dpi=dpi, pixels=image.size)


def oversized(path: Path) -> int | None:
    """The pixel count of the image at ``path`` if it is over Pillow's decompression-bomb limit, else None.

    Only the header is read, so a file claiming 30,000 pixels a side costs nothing to check;
    a file Pillow cannot identify (SVG, say) is left to the image pipeline.
    """
    limit = Image.MAX_IMAGE_PIXELS
    if not limit:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                pixels = image.width * image.height
        except Image.DecompressionBombError as exc:
            found = re.search(r"\((\d+) pixels\)", str(exc))
            return int(found[1]) if found else limit + 1
        except (OSError, SyntaxError, ValueError):
            return None
    return pixels if pixels > limit else None


def _dpi_from_name(path: Path) -> float:
    match = re.search(r"-(\d+(?:\.\d+)?)dpi\.", path.name)
    return float(match[1]) if match else 96.0


def _open(source: Path, data: bytes) -> Image.Image:
    # WeasyPrint tells Pillow to accept truncated files; a print pipeline must not.
    lenient, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
        return image
    except Image.DecompressionBombError as exc:
        raise ImageError(
            f"image is too large to decode safely ({exc})", file=source, hint="scale it down to at most a few thousand pixels a side"
        ) from None
    except UnidentifiedImageError:
        raise ImageError(
            "is not an image Pillow can read", file=source, hint="use JPEG, PNG, WebP, TIFF or GIF (or SVG for vector art)"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"image is truncated or corrupt ({exc})", file=source, hint="export the image again") from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient


def _flatten(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(paper, rgba).convert("RGB")


_SVG_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")
_SVG_NAMED = re.compile(r"""((?:fill|stroke|stop-color|color|flood-color|lighting-color)\s*[:=]\s*["']?)(white|black)\b""")


def svg_to_cmyk(text: str, convert: Callable[[str], tuple[float, float, float, float]]) -> str:
    """Rewrite every sRGB colour of an SVG as ``device-cmyk()``, so vector art prints in CMYK."""

    def hex_colour(match: re.Match[str]) -> str:
        value = match[0]
        if len(value) == 4:
            value = "#" + "".join(c * 2 for c in value[1:])
        c, m, y, k = convert(value.upper())
        return f"device-cmyk({c:g} {m:g} {y:g} {k:g})"

    text = _SVG_COLOUR.sub(hex_colour, text)
    return _SVG_NAMED.sub(lambda m: m[1] + hex_colour(re.match(r".*", "#FFFFFF" if m[2] == "white" else "#000000")), text)


def raster_backgrounds(pages: Sequence[Any]) -> dict[str, tuple[tuple[float, float], tuple[float, float]]]:
    """Each raster file painted as a background on WeasyPrint's ``pages``: its largest painted size (mm) and its intrinsic size (CSS px)."""
    found: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {}
    for page in pages:
        for box in page._page_box.descendants():
            for background in (getattr(box, "background", None), getattr(box, "canvas_background", None)):
                if background is None:
                    continue
                style = background.style
                # One layer for each background-image, in order (none at all when the box is hidden).
                for (kind, url), layer in zip(style["background_image"], background.layers, strict=False):
                    if kind != "url" or layer.image is None or 0 in layer.size:
                        continue
                    if not url.startswith("file:") or url.lower().endswith(".svg"):
                        continue
                    width, height = (v * MM_PER_UNIT["px"] for v in layer.size)
                    (old_width, old_height), intrinsic = found.get(url, ((0.0, 0.0), None))
                    if intrinsic is None:
                        intrinsic = layer.image.get_intrinsic_size(style["image_resolution"], style["font_size"])[:2]
                    found[url] = ((max(old_width, width), max(old_height, height)), intrinsic)
    return found


def background_stand_in(result: Any, intrinsic: tuple[float, float]) -> Path:
    """An SVG that shows the processed image at the original's intrinsic size.

    Backgrounds have no per-image ``image-resolution``: served bare, fewer pixels would
    make a smaller tile wherever background-size is auto. The SVG keeps the size.
    """
    width, height = intrinsic
    image = cache_url(f"images/{result.path.name}")
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.4f}px" height="{height:.4f}px" '
        f'viewBox="0 0 {width:.4f} {height:.4f}" preserveAspectRatio="none">'
        f'<image width="{width:.4f}" height="{height:.4f}" preserveAspectRatio="none" href="{image}"/></svg>'
    )
    target = result.path.with_name(f"{result.path.stem}-{width:.2f}x{height:.2f}px.svg")
    if not target.is_file():
        write_atomic(target, svg.encode("utf-8"))
    return target
