"""The image pipeline: resampling for the placed size, orientation, CMYK, transparency, cache, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from booklet.images import CmykProfile, ImageError, ImagePolicy, cmyk_profile, process, svg_to_cmyk
from conftest import ROOT

PROFILE = ROOT / "assets" / "icc" / "FOGRA39-booklet.icc"


def picture(path: Path, size=(3000, 2000), colour=(200, 40, 30), mode="RGB", **save) -> Path:
    Image.new(mode, size, colour).save(path, **save)
    return path


def test_downsamples_to_the_edition_ppi_and_keeps_the_intrinsic_size(tmp_path: Path) -> None:
    source = picture(tmp_path / "big.jpg")
    # Placed 100 mm wide: 300 ppi is 1181 px; 150 ppi is 591 px.
    printed = process(source, placed_mm=(100, 66.67), policy=ImagePolicy(max_ppi=300), cache=tmp_path / "cache")
    screen = process(source, placed_mm=(100, 66.67), policy=ImagePolicy(max_ppi=150), cache=tmp_path / "cache")
    assert printed.pixels == (1181, 787)
    assert screen.pixels == (591, 394)
    assert printed.dpi == pytest.approx(96 * 1181 / 3000)


def test_never_upsamples(tmp_path: Path) -> None:
    source = picture(tmp_path / "small.png", size=(200, 100))
    result = process(source, placed_mm=(100, 50), policy=ImagePolicy(max_ppi=300), cache=tmp_path / "cache")
    assert result.pixels == (200, 100)
    assert result.dpi == 96


def test_print_images_become_cmyk_through_the_profile(tmp_path: Path) -> None:
    source = picture(tmp_path / "logo.png", size=(400, 400), colour=(1, 65, 28, 128), mode="RGBA")
    result = process(source, placed_mm=(30, 30), policy=ImagePolicy(cmyk=True), cache=tmp_path / "cache", profile=CmykProfile(PROFILE))
    with Image.open(result.path) as image:
        assert image.mode == "CMYK" and image.format == "JPEG"
        c, m, y, k = image.getpixel((10, 10))
        # Half-transparent green flattened onto white: a lighter green, and no alpha left.
        assert c > m and y > m and k < 200


def test_screen_keeps_transparency(tmp_path: Path) -> None:
    source = picture(tmp_path / "mark.png", size=(400, 400), colour=(1, 65, 28, 0), mode="RGBA")
    result = process(source, placed_mm=(10, 10), policy=ImagePolicy(max_ppi=150), cache=tmp_path / "cache")
    with Image.open(result.path) as image:
        assert image.mode == "RGBA" and image.getpixel((1, 1))[3] == 0


def test_exif_orientation_is_applied_and_metadata_stripped(tmp_path: Path) -> None:
    image = Image.new("RGB", (300, 100), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    exif[0x010F] = "Camera maker"
    source = tmp_path / "rotated.jpg"
    image.save(source, exif=exif.tobytes())
    result = process(source, placed_mm=(50, 150), policy=ImagePolicy(), cache=tmp_path / "cache")
    with Image.open(result.path) as out:
        assert out.size == (100, 300)
        assert not out.getexif()


def test_second_run_uses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = picture(tmp_path / "big.jpg")
    first = process(source, placed_mm=(100, 66.67), policy=ImagePolicy(), cache=tmp_path / "cache")
    monkeypatch.setattr("booklet.images._open", lambda *a: pytest.fail("decoded again instead of using the cache"))
    second = process(source, placed_mm=(100, 66.67), policy=ImagePolicy(), cache=tmp_path / "cache")
    assert second == first


def test_truncated_jpeg_is_a_clear_error(tmp_path: Path) -> None:
    source = picture(tmp_path / "photo.jpg")
    source.write_bytes(source.read_bytes()[:2000])
    with pytest.raises(ImageError) as caught:
        process(source, placed_mm=(50, 50), policy=ImagePolicy(), cache=tmp_path / "cache")
    assert caught.value.format().startswith(f"{source}: image is truncated or corrupt")


def test_decompression_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = picture(tmp_path / "huge.png", size=(4000, 4000), mode="L", colour=0)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    with pytest.raises(ImageError) as caught:
        process(source, placed_mm=(50, 50), policy=ImagePolicy(), cache=tmp_path / "cache")
    assert "image is too large to decode safely" in caught.value.format()


def test_not_an_image(tmp_path: Path) -> None:
    source = tmp_path / "notes.png"
    source.write_text("not a picture")
    with pytest.raises(ImageError) as caught:
        process(source, placed_mm=(50, 50), policy=ImagePolicy(), cache=tmp_path / "cache")
    assert (
        caught.value.format()
        == f"{source}: is not an image Pillow can read\n  hint: use JPEG, PNG, WebP, TIFF or GIF (or SVG for vector art)"
    )


def test_svg_colours_become_device_cmyk() -> None:
    profile = CmykProfile(PROFILE)
    svg = '<svg><rect fill="#01411C"/><path style="stroke:#fff" fill="white"/></svg>'
    assert svg_to_cmyk(svg, profile.cmyk) == (
        '<svg><rect fill="device-cmyk(0.847 0.012 0.973 0.784)"/><path style="stroke:device-cmyk(0 0 0 0)" fill="device-cmyk(0 0 0 0)"/></svg>'
    )


def test_a_profile_is_made_once_while_its_file_is_unchanged(tmp_path: Path) -> None:
    import os
    import shutil

    copy = tmp_path / "profile.icc"
    shutil.copyfile(PROFILE, copy)
    first = cmyk_profile(copy, intent="relative-colorimetric")
    assert cmyk_profile(copy, intent="relative-colorimetric") is first
    assert cmyk_profile(copy, intent="perceptual") is not first
    os.utime(copy, ns=(0, 0))
    again = cmyk_profile(copy, intent="relative-colorimetric")
    assert again is not first
    assert again.cmyk("#01411C") == first.cmyk("#01411C")
    # Read whole when made: the file is not read again (processes forked with the profile would share its read position).
    picture = Image.new("RGB", (4, 4), (1, 65, 28))
    made = again.image(picture)
    copy.write_bytes(b"")
    assert again.image(picture).tobytes() == made.tobytes()


def test_a_profile_that_is_not_cmyk_is_refused(tmp_path: Path) -> None:
    from PIL import ImageCms

    srgb = tmp_path / "srgb.icc"
    srgb.write_bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    with pytest.raises(Exception) as caught:
        CmykProfile(srgb)
    assert "the ICC profile is RGB, not CMYK" in str(caught.value)


def test_background_images_go_through_the_pipeline(make_project) -> None:
    import subprocess

    import pypdf

    from conftest import run

    project = make_project(
        {
            "booklet.toml": """\
                name = "mini"
                title = "Mini Booklet"
                date = 2024-01-02
                brand = "assets/brands/anniversary/_brand.yml"
                editions = ["print", "screen"]
                """,
            "content/01-one.md": '---\ntitle: One\n---\n\nText.\n\n<div class="stamp"></div>\n',
            # A photograph over the whole cover, and a stamp at its intrinsic size: 1200 px at 600 dpi is 2 inches.
            "templates/photo.css": """\
                .cover-art { display: none; }
                .cover { background: url(cover-photo.jpg) center / cover no-repeat; }
                .stamp { width: 80mm; height: 60mm; background: url(stamp.png) no-repeat; image-resolution: 600dpi; }
                """,
        }
    )
    picture(project / "templates" / "cover-photo.jpg", size=(3000, 4200), colour=(40, 90, 160))
    picture(project / "templates" / "stamp.png", size=(1200, 800), colour=(20, 140, 60))
    assert run("build", "--project", str(project), "-q").exit_code == 0

    def listing(edition: str) -> list[tuple[str, int, int, int, int]]:
        pdf = project / "build" / f"mini-{edition}.pdf"
        out = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
        return [(row[5], int(row[3]), int(row[4]), int(row[12]), int(row[13])) for row in (line.split() for line in out.splitlines()[2:])]

    # The photo covers the 154 × 216 mm cover with its bleed (a 5:7 photo, so its sides are cut);
    # the stamp keeps its 2-inch size: 600 × 400 px at 300 ppi.
    assert listing("print") == [("cmyk", 1822, 2551, 300, 300), ("cmyk", 600, 400, 300, 300)]
    assert listing("screen") == [("rgb", 886, 1240, 150, 150), ("rgb", 300, 200, 150, 150)]

    # Backgrounds are drawn inside groups and patterns: look through them all, each object once.
    found: dict[int, str] = {}

    def walk(resources) -> None:
        for reference in [*((resources or {}).get("/XObject") or {}).values(), *((resources or {}).get("/Pattern") or {}).values()]:
            if reference.idnum in found:
                continue
            obj = reference.get_object()
            found[reference.idnum] = str(obj.get("/ColorSpace")) if obj.get("/Subtype") == "/Image" else ""
            walk(obj.get("/Resources"))

    for page in pypdf.PdfReader(project / "build" / "mini-print.pdf").pages:
        walk(page.get("/Resources"))
    assert sorted(space for space in found.values() if space) == ["/DeviceCMYK", "/DeviceCMYK"]


def test_a_cached_image_left_empty_by_a_crash_is_made_again(tmp_path: Path) -> None:
    source = picture(tmp_path / "big.jpg")
    first = process(source, placed_mm=(100, 66.67), policy=ImagePolicy(), cache=tmp_path / "cache")
    made = first.path.read_bytes()
    first.path.write_bytes(b"")
    again = process(source, placed_mm=(100, 66.67), policy=ImagePolicy(), cache=tmp_path / "cache")
    assert again == first
    assert again.path.read_bytes() == made
