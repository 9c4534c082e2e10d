"""Typesetting in parts: the same PDF as a single pass, reused from the cache, and invalidated by what changes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pypdf
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageChops

from conftest import ROOT, run

sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import generate

# Pages typeset in parts match the single pass glyph for glyph; folios are drawn from a document of
# their own, whose font subset can place a digit a hundredth of a point away. At 50 dpi that moves
# the anti-aliasing of a few pixels of a folio, never more.
MAX_PIXELS_APART = 0.001


def texts(pdf: Path) -> list[str]:
    doc = pdfium.PdfDocument(pdf)
    return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]


def pixels(pdf: Path) -> list[Image.Image]:
    doc = pdfium.PdfDocument(pdf)
    return [doc[i].render(scale=50 / 72).to_pil().convert("RGB") for i in range(len(doc))]


def outline(pdf: Path) -> list[tuple[str, int]]:
    reader = pypdf.PdfReader(pdf)

    def walk(items: list) -> list[tuple[str, int]]:
        out = []
        for item in items:
            if isinstance(item, list):
                out += walk(item)
            else:
                out.append((item.title, reader.get_destination_page_number(item)))
        return out

    return walk(reader.outline)


def links(pdf: Path) -> list[list[tuple[str, int]]]:
    """Each page's internal links as (target name, target page)."""
    reader = pypdf.PdfReader(pdf)
    dests = {name: reader.get_destination_page_number(dest) for name, dest in reader.named_destinations.items()}
    out = []
    for page in reader.pages:
        found = []
        for annotation in page.get("/Annots") or ():
            annotation = annotation.get_object()
            if "/Dest" in annotation:
                name = str(annotation["/Dest"])
                found.append((name, dests.get(name, -1)))
        out.append(sorted(found))
    return out


def assert_same_publication(parts_pdf: Path, single_pdf: Path) -> None:
    """Page count, text on every page, pixels at 50 dpi, outline and links: the same."""
    assert len(pypdf.PdfReader(parts_pdf).pages) == len(pypdf.PdfReader(single_pdf).pages)
    assert texts(parts_pdf) == texts(single_pdf)
    for number, (a, b) in enumerate(zip(pixels(parts_pdf), pixels(single_pdf), strict=True), start=1):
        assert a.size == b.size, f"page {number}"
        red, green, blue = ImageChops.difference(a, b).split()
        differing = sum(ImageChops.lighter(ImageChops.lighter(red, green), blue).histogram()[1:])
        apart = differing / (a.width * a.height)
        assert apart <= MAX_PIXELS_APART, f"page {number}: {apart:.4%} of pixels differ"
    assert outline(parts_pdf) == outline(single_pdf)
    assert links(parts_pdf) == links(single_pdf)


def typeset_count(output: str, *, content: bool = False) -> int:
    """How many part documents the build typeset (or of them, groups of content), from its log."""
    found = re.findall(r"Typeset (\d+) part document\(s\) for the \w+ edition, (\d+) of its (\d+) groups", output)
    assert found, "no part was typeset or reused"
    return sum(int(match[1 if content else 0]) for match in found)


# ---- The sample booklet -------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("single-pass")
    result = run("build", "--project", str(ROOT), "--out", str(out), "-e", "print", "-e", "screen", "--single-pass", "-q")
    assert result.exit_code == 0, result.output
    return out


def test_sample_print_in_parts_is_the_single_pass(sample_pdf: Path, sample_single: Path) -> None:
    assert_same_publication(sample_pdf, sample_single / sample_pdf.name)


def font_programs(pdf: Path) -> dict[str, set[int]]:
    """For each font (by name, without its subset tag), the font programs embedded for it."""
    reader = pypdf.PdfReader(pdf)
    found: dict[str, set[int]] = {}
    # Objects in the cross-reference table, and those kept in object streams.
    for number in [*(n for section in reader.xref.values() for n in section), *reader.xref_objStm]:
        obj = reader.get_object(number)
        if isinstance(obj, dict) and obj.get("/Type") == "/FontDescriptor":
            program = obj.raw_get("/FontFile2") if "/FontFile2" in obj else obj.raw_get("/FontFile3")
            found.setdefault(str(obj["/FontName"]).split("+", 1)[-1], set()).add(program.idnum)
    return found


def colour_profiles(pdf: Path) -> int:
    reader = pypdf.PdfReader(pdf)
    numbers = [*(n for section in reader.xref.values() for n in section), *reader.xref_objStm]
    streams = [obj for n in numbers if isinstance(obj := reader.get_object(n), pypdf.generic.StreamObject)]
    return sum(1 for obj in streams if "/N" in obj and obj.get("/Type") != "/ObjStm")


def test_the_parts_share_one_subset_of_each_font_and_one_colour_profile(sample_pdf: Path, sample_single: Path) -> None:
    assert colour_profiles(sample_pdf) == colour_profiles(sample_single / sample_pdf.name) == 1
    programs = font_programs(sample_pdf)
    assert {"Inter-Semi-Bold", "Charis-SIL", "Charis-SIL-Italic"} <= set(programs)
    assert {name: len(numbers) for name, numbers in programs.items()} == dict.fromkeys(programs, 1)
    assert set(programs) == set(font_programs(sample_single / sample_pdf.name))
    # Text set in every font still draws: the shared subsets hold every glyph the parts use.
    assert_same_publication(sample_pdf, sample_single / sample_pdf.name)
    # One colour profile, one subset of each font: little more than the single pass (its objects are packed in streams).
    assert sample_pdf.stat().st_size < 1.3 * (sample_single / sample_pdf.name).stat().st_size


def test_the_joins_subsets_are_weasyprints_own_made_without_importing_it(tmp_path: Path) -> None:
    import random

    import cffi
    from weasyprint.pdf.fonts import Font
    from weasyprint.text import ffi as theirs

    from booklet import subsets

    def weasyprints(data: bytes, glyphs: set[int]) -> bytes | None:
        # A face of WeasyPrint's own bindings, made as its fonts are made, subset by its own method.
        own = cffi.FFI()
        own.cdef(
            "typedef struct hb_blob_t hb_blob_t; typedef struct hb_face_t hb_face_t;"
            "hb_blob_t * hb_blob_create (const char *data, unsigned int length, int mode, void *user_data, void *destroy);"
            "hb_face_t * hb_face_create (hb_blob_t *blob, unsigned int index); void hb_blob_destroy (hb_blob_t *blob);"
        )
        library = own.dlopen("libharfbuzz.so.0")
        blob = library.hb_blob_create(own.new("char[]", data), len(data), 0, own.NULL, own.NULL)
        face = library.hb_face_create(blob, 0)
        library.hb_blob_destroy(blob)
        holder = type("Holder", (), {})()
        holder.hb_face = theirs.ffi.gc(theirs.ffi.cast("hb_face_t *", int(own.cast("uintptr_t", face))), theirs.harfbuzz.hb_face_destroy)
        holder.missing, holder.family, holder.file_content = False, "font", None
        Font._harfbuzz_subset(holder, dict.fromkeys(sorted(glyphs), ""), False)
        return holder.file_content

    random.seed(9)
    fonts = sorted((ROOT / "assets" / "fonts").glob("*/*.[ot]tf"))
    assert len(fonts) > 10
    for font in fonts:
        data = font.read_bytes()
        glyphs = {0, *random.sample(range(1, 300), 40)}
        made = subsets._harfbuzz_subset(data, glyphs)
        assert made is not None and made == weasyprints(data, glyphs), font.name
    # A join after an edit that brings new glyphs subsets in a process that has not loaded WeasyPrint.
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from booklet import subsets
        made = subsets._subset(Path({str(fonts[0])!r}), {{0, 5, 40}}, cache=Path({str(tmp_path)!r}))
        print(made is not None and len(made) > 0, "weasyprint" in sys.modules)
        """
    )
    assert subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split() == ["True", "False"]


def test_sample_screen_in_parts_is_the_single_pass_and_tagged(sample_screen: Path, sample_single: Path) -> None:
    assert_same_publication(sample_screen, sample_single / sample_screen.name)
    reader = pypdf.PdfReader(sample_screen)
    tree = reader.trailer["/Root"]["/StructTreeRoot"]
    keys = tree["/ParentTree"]["/Nums"][::2]
    # Every page's marked content is reachable from the one parent tree.
    assert all(page["/StructParents"] in keys for page in reader.pages)
    document = tree["/K"][0].get_object()
    assert document["/S"] == "/Document"

    def first_page(element) -> int | None:
        element = element.get_object()
        if "/Pg" in element:
            return reader.get_page_number(element["/Pg"].get_object())
        for kid in element.get("/K") or ():
            if hasattr(kid, "get_object") and isinstance(kid.get_object(), dict) and (found := first_page(kid)) is not None:
                return found
        return None

    # The reading order is the pages' order, with the timeline's spread at the centre where it is printed.
    starts = [first_page(kid) for kid in document["/K"]]
    assert starts == sorted(starts)
    assert set(range(len(reader.pages))) <= set(starts) | {None}


def test_reference_html_renders_alone_with_plain_weasyprint(sample_pdf: Path, tmp_path: Path) -> None:
    from weasyprint import HTML

    reference = sample_pdf.with_suffix(".html")
    assert "file://" not in reference.read_text(encoding="utf-8")
    HTML(filename=reference).write_pdf(tmp_path / "plain.pdf")
    assert texts(tmp_path / "plain.pdf") == texts(sample_pdf)


# ---- A generated publication of many parts --------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven sections of uneven length: several groups of sections, blank pages, footnotes, figures, a timeline."""
    project = generate(tmp_path_factory.mktemp("gen") / "project", sections=7, paragraphs=7, seed=3)
    toml = project / "booklet.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n[limits]\ntimeout = 600\n", encoding="utf-8")
    return project


LOG: list[str] = []


def build(project: Path, out: Path, *extra: str) -> Path:
    result = run("build", "--project", str(project), "--out", str(out), "-e", "print", *extra)
    assert result.exit_code == 0, result.output
    LOG[:] = [result.output]
    return out / "bench-print.pdf"


def test_generated_publication_in_parts_is_the_single_pass(generated: Path, tmp_path: Path) -> None:
    parts_pdf = build(generated, tmp_path / "parts")
    single_pdf = build(generated, tmp_path / "single", "--single-pass")
    assert_same_publication(parts_pdf, single_pdf)
    pages = texts(parts_pdf)
    # Openers on rectos, each after its divider; the contents page gives each opener's page; blank pages between.
    contents = pages[2]
    for number in range(1, 8):
        opener = next(i for i, text in enumerate(pages) if text.startswith(f"{number}\r\nSection {number}:"))
        assert opener % 2 == 0, f"section {number} opens on page {opener + 1}, a verso"
        assert pages[opener - 1] == str(number)
        listed = re.search(rf"^{number} Section {number}:[^\n]*?(\d+)\r?$", contents, re.M)
        assert listed and int(listed[1]) == opener + 1
    assert "" in pages, "no blank page: the publication does not test blank pages between parts"
    timeline = next(i for i, text in enumerate(pages) if re.match(r"1 9 0 0 – \d \d \d \d\r\nThe years at a glance", text))
    assert timeline % 2 == 1, "the timeline's spread starts on a verso"
    listed = re.search(r"^The years at a glance[^\n]*?(\d+)\r?$", contents, re.M)
    assert listed and int(listed[1]) == timeline + 1


def test_a_one_word_edit_typesets_one_part_and_matches_a_single_pass(generated: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(generated, project)
    build(project, tmp_path / "out")
    section = project / "content" / "03-section.md"
    text = section.read_text(encoding="utf-8")
    section.write_text(text.replace(" dolor ", " dolorem ", 1), encoding="utf-8")
    pdf = build(project, tmp_path / "out")
    # The group holding the section; its pages and page numbers are unchanged, so nothing else.
    assert typeset_count(LOG[0]) == 1
    assert_same_publication(pdf, build(project, tmp_path / "single", "--single-pass"))
    # What the rebuild took from the last build (parts, furniture, compressed streams) makes the same bytes.
    assert pdf.read_bytes() == build(project, tmp_path / "cold").read_bytes()


def test_the_join_compresses_only_the_streams_the_last_join_did_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import zlib

    import pypdf
    from pypdf.generic import StreamObject

    from booklet import parts

    compressed: list[bytes] = []
    real = zlib.compress
    monkeypatch.setattr(zlib, "compress", lambda data, *args: compressed.append(data) or real(data, *args))

    def join(*datas: bytes) -> list[bytes]:
        writer = pypdf.PdfWriter()
        numbers = []
        for data in datas:
            stream = StreamObject()
            stream.set_data(data)
            numbers.append(writer._add_object(stream).idnum)
        parts._compress(writer, tmp_path / "streams")
        return [writer._objects[number - 1]._data for number in numbers]

    first = join(b"one " * 100, b"two " * 100, b"three " * 100)
    assert sorted(compressed) == sorted([b"one " * 100, b"two " * 100, b"three " * 100])
    compressed.clear()
    second = join(b"one " * 100, b"two " * 100, b"four " * 100)
    assert compressed == [b"four " * 100]
    assert second[:2] == first[:2] and [zlib.decompress(data) for data in second] == [b"one " * 100, b"two " * 100, b"four " * 100]
    # The file keeps what the last join used, no more: 'three' is compressed again.
    compressed.clear()
    join(b"three " * 100)
    assert compressed == [b"three " * 100]


def test_the_parts_found_in_the_cache_are_read_while_the_edited_one_is_typeset(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from booklet import parts

    project = tmp_path / "project"
    shutil.copytree(generated, project)
    build(project, tmp_path / "out")
    section = project / "content" / "03-section.md"
    section.write_text(section.read_text(encoding="utf-8").replace(" dolor ", " dolorem ", 1), encoding="utf-8")
    monkeypatch.setattr(parts, "_READERS", {})
    read: list[str] = []
    real = parts.read_ahead
    monkeypatch.setattr(
        parts, "read_ahead", lambda typesets, **hints: real(read.extend(part.key for part in typesets) or typesets, **hints)
    )
    parsed: list[tuple[str, str]] = []  # (thread, part key) for each part's PDF parsed
    real_reader = parts._reader

    def reader(part: parts.Typeset) -> object:
        if part.key and part.key not in parts._READERS:
            parsed.append((threading.current_thread().name, part.key))
        return real_reader(part)

    monkeypatch.setattr(parts, "_reader", reader)
    build(project, tmp_path / "out")
    assert typeset_count(LOG[0]) == 1
    groups = re.search(r"of its (\d+) groups", LOG[0])
    # Every other group of content, once, parsed by the time the join wants it.
    assert groups and len(set(read)) == len(read) == int(groups[1]) - 1
    assert set(read) <= set(parts._READERS)
    # So were the running heads and folios and the other parts the last join used: the join itself
    # parses only the part typeset now.
    in_join = [key for thread, key in parsed if thread == threading.main_thread().name]
    assert len(in_join) == 1 and len(parsed) > len(read) + 3


def test_the_sections_are_typeset_while_the_timeline_is_measured(generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from booklet import parts, timeline_layout

    events: list[str] = []
    started: list[list[str]] = []
    left: list[str] = []
    real_ahead, real_exit, real_plan = parts.Runner.ahead, parts.Runner.__exit__, timeline_layout.plan_spreads

    def ahead(self, jobs):
        events.append("started ahead")
        started.append([job.key for job in jobs])
        return real_ahead(self, jobs)

    monkeypatch.setattr(parts.Runner, "ahead", ahead)
    monkeypatch.setattr(parts.Runner, "__exit__", lambda self, *exc: left.extend(self.pending) or real_exit(self, *exc))
    monkeypatch.setattr(timeline_layout, "plan_spreads", lambda *a, **k: events.append("timeline measured") or real_plan(*a, **k))
    build(generated, tmp_path / "out")
    # The sections; then the front matter with the blank pages, and the running heads with it.
    assert events == ["started ahead", "timeline measured", "started ahead", "started ahead"]
    # One document for each of the seven sections, each one the build then asked for.
    assert len(set(started[0])) == 7
    assert started[1][0] == started[2][0], "the front matter is started with the blank pages, and taken with the running heads"
    assert left == []
    groups = re.search(r"of its (\d+) groups", LOG[0])
    assert groups and typeset_count(LOG[0], content=True) == int(groups[1])


def plain_setup(folder: Path) -> Any:
    """What workers need to typeset documents of ``folder``, in RGB, with no colour profile."""
    from booklet import parts

    return parts.Setup(
        base=folder, roots=(folder,), cache=folder / "cache", variant=None, max_ppi=300.0, cmyk=False, profile=None, intent="perceptual"
    )


def test_only_several_documents_are_started_ahead(tmp_path: Path) -> None:
    from booklet import parts

    setup = plain_setup(tmp_path)
    one = parts.Job("one", "<html><body><p>One</p></body></html>", 0)
    two = parts.Job("two", "<html><body><p>Two</p><p style='break-before: page'>Three</p></body></html>", 0)
    with parts.Runner(setup, parts.Cache(tmp_path / "parts"), workers=2) as runner:
        # One document: a long-lived process typesets it itself, with the fonts it has loaded.
        runner.ahead([one])
        assert runner.pool is None and runner.pending == {}
        runner.ahead([one, two])
        assert set(runner.pending) == {"one", "two"}
        done = runner.run([two, one])
        assert runner.pending == {}
        assert [len(done["one"].pages), len(done["two"].pages)] == [1, 2]


def test_a_run_does_not_wait_for_the_parts_read_ahead_and_the_runner_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The workers would wait with it: the next documents are only made once a run is over.
    from booklet import parts

    monkeypatch.setattr(parts, "_READERS", {})
    events: list[str] = []
    release = threading.Event()
    real = parts.read_ahead

    def slow(typesets, **hints):
        release.wait(timeout=5)
        real(typesets, **hints)
        events.append("read " + " ".join(sorted(part.key for part in typesets)))

    monkeypatch.setattr(parts, "read_ahead", slow)
    pages = [parts.Job(name, f"<html><body><p>{name}</p></body></html>", 0) for name in ("one", "two", "three", "four")]
    with parts.Runner(plain_setup(tmp_path), parts.Cache(tmp_path / "parts"), workers=2) as runner:
        runner.run(pages[:2])
        runner.run(pages[2:])
        events.append("second run over")
        release.set()
    events.append("runner over")
    assert events == ["second run over", "read one two", "runner over"]
    assert {"one", "two"} <= set(parts._READERS)


def test_one_new_part_is_typeset_while_the_cached_ones_are_read_without_weasyprint_here(tmp_path: Path) -> None:
    # In a fresh process: this one has long imported WeasyPrint.
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from booklet import parts

        folder = Path({str(tmp_path)!r})
        setup = parts.Setup(
            base=folder, roots=(folder,), cache=folder / "cache", variant=None, max_ppi=300.0, cmyk=False, profile=None, intent="perceptual"
        )
        one = parts.Job("one", "<html><body><p>One</p></body></html>", 0)
        two = parts.Job("two", "<html><body><p>Two</p><p style='break-before: page'>Three</p></body></html>", 0)
        cache = parts.Cache(folder / "parts")
        cache.put("one", parts.Typeset(pdf=b"", pages=(), anchors=(), images={{}}, key="one"))
        with parts.Runner(setup, cache, workers=2) as runner:
            done = runner.run([one, two])
        print(runner.typeset, len(done["one"].pages), len(done["two"].pages), "weasyprint" in sys.modules)
        (folder / "parts" / "one.part").write_bytes(b"damaged")
        with parts.Runner(setup, cache, workers=2) as runner:
            done = runner.run([one, two])
        print(runner.typeset, len(done["one"].pages), len(done["two"].pages))
        # A long-lived process (another thread runs, as the preview's server does) typesets a lone new part
        # itself; a cached part that cannot be read beside it is typeset too.
        import threading

        waiting = threading.Event()
        threading.Thread(target=waiting.wait, daemon=True).start()
        three = parts.Job("three", "<html><body><p>Four</p></body></html>", 0)
        (folder / "parts" / "two.part").write_bytes(b"damaged")
        with parts.Runner(setup, cache, workers=2) as runner:
            done = runner.run([three, two])
        waiting.set()
        print(runner.typeset, len(done["three"].pages), len(done["two"].pages))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    # The new part in a worker; this process read the cached one meanwhile, and never needed WeasyPrint.
    # A cached part that cannot be read is typeset after all.
    assert result.stdout.splitlines() == ["1 0 2 False", "1 1 2", "2 1 2"]


def test_an_edit_that_adds_pages_early_moves_the_rest_and_matches_a_single_pass(generated: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(generated, project)

    def opener_of_section_5(pdf: Path) -> int:
        return next(i for i, text in enumerate(texts(pdf)) if text.startswith("5\r\nSection 5:"))

    before = opener_of_section_5(build(project, tmp_path / "out"))
    section = project / "content" / "01-section.md"
    text = section.read_text(encoding="utf-8")
    section.write_text(text + "\n\n" + "\n\n".join(["Lorem ipsum dolor sit amet, " * 30] * 8) + "\n", encoding="utf-8")
    pdf = build(project, tmp_path / "out")
    assert opener_of_section_5(pdf) > before
    # The edited group, and not the others; the contents page (its numbers) and the furniture from there on.
    assert typeset_count(LOG[0], content=True) == 1
    groups = re.search(r"of its (\d+) groups", LOG[0])
    assert groups and int(groups[1]) >= 6, "front, back, timeline, its filler and at least two groups of sections"
    assert_same_publication(pdf, build(project, tmp_path / "single", "--single-pass"))


def test_preflight_by_layers_finds_what_whole_pages_show_and_reads_again_only_what_an_edit_changed(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools

    from booklet import builder, preflight

    # A safe area far wider than the margins: the text, the running heads and the folios of nearly every page are in it.
    monkeypatch.setattr(preflight, "Rules", functools.partial(preflight.Rules, safe_margin=25.0))
    made: list[tuple[object, list[preflight.Finding]]] = []
    read: list[bool] = []  # for each layer read, whether it is a part's page (checked for colour) or drawn over one
    real_check, real_layers = builder.check_output, preflight._check_layers

    def check_output(*args: object, **options: object) -> list[preflight.Finding]:
        found = real_check(*args, **options)
        made.append((options.get("layers"), found))
        return found

    def check_layers(pdf: bytes, wanted, rules) -> dict:
        read.extend(how[3] for _, (_, how) in wanted)
        return real_layers(pdf, wanted, rules)

    monkeypatch.setattr(builder, "check_output", check_output)
    monkeypatch.setattr(preflight, "_check_layers", check_layers)
    # In this process, where the reads are counted.
    monkeypatch.setattr(preflight, "PAGES_PER_WORKER", 10_000)
    monkeypatch.setattr(builder, "check_layers_ahead", lambda *args, **options: None)
    project = tmp_path / "project"
    shutil.copytree(generated, project)
    out = tmp_path / "out"
    build(project, out)
    ((layers, found),) = made
    assert layers is not None and len(layers) == len(texts(out / "bench-print.pdf"))
    assert found == builder.preflight(project, out_dir=out)[1]
    assert len({f.page for f in found if f.check == "safe-area"}) > len(layers) * 3 // 4
    # Every page's running heads and folios; the parts' pages once each (a blank page is one for all blank pages alike).
    assert read.count(False) == len(layers) >= read.count(True) > len(layers) * 3 // 4

    section = project / "content" / "02-section.md"
    section.write_text(section.read_text(encoding="utf-8") + "\n\n" + "Lorem ipsum dolor sit amet. " * 200 + "\n", encoding="utf-8")
    read.clear()
    build(project, out)
    layers, found = made[-1]
    assert found == builder.preflight(project, out_dir=out)[1]
    # Of the parts' pages, those of the edited section and of the contents (its page numbers) only.
    assert 0 < read.count(True) < len(layers) // 3
    assert read.count(False) > len(layers) // 2


def test_the_workers_check_the_layers_while_the_pages_are_joined(generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib
    import dataclasses

    from booklet import builder, parts, preflight

    # As above: a safe area wide enough that nearly every page has findings to compare.
    real_rules = preflight.rules_for

    def rules_for(*args: object, **options: object) -> preflight.Rules:
        return dataclasses.replace(real_rules(*args, **options), safe_margin=25.0)

    monkeypatch.setattr(preflight, "rules_for", rules_for)
    monkeypatch.setattr(builder, "rules_for", rules_for)
    started: list[preflight.Ahead | None] = []
    made: list[list[preflight.Finding]] = []
    real_ahead, real_join, real_pool_of, real_check = builder.check_layers_ahead, parts.join, parts.pool_of, builder.check_output

    def ahead(*args: object, **options: object) -> preflight.Ahead | None:
        started.append(real_ahead(*args, **options))
        return started[-1]

    def join(*args: object, **options: object) -> bytes:
        assert started and started[-1] is not None, "the layers are sent to the workers before the join"
        return real_join(*args, **options)

    @contextlib.contextmanager
    def pool_of(count: int):
        raise AssertionError("preflight asked the workers again for layers they were reading")
        yield

    monkeypatch.setattr(builder, "check_layers_ahead", ahead)
    monkeypatch.setattr(builder, "check_output", lambda *args, **options: made.append(real_check(*args, **options)) or made[-1])
    monkeypatch.setattr(parts, "join", join)
    monkeypatch.setattr(parts, "pool_of", pool_of)
    order: list[str] = []
    real_links, real_facts = preflight._check_links, preflight.Ahead.facts
    monkeypatch.setattr(preflight, "_check_links", lambda *args: order.append("links") or real_links(*args))
    monkeypatch.setattr(preflight.Ahead, "facts", lambda self: order.append("facts") or real_facts(self))
    project = tmp_path / "project"
    shutil.copytree(generated, project)
    out = tmp_path / "out"
    build(project, out)
    # What needs no page's facts is checked before this process waits for the workers' layers.
    assert order == ["links", "facts"]
    # First the pages typeset before the running heads, behind those; then the rest, as the join starts.
    early, sent = started
    assert early is not None and sent is not None and early.keys < sent.keys and set(early.futures) < set(sent.futures)
    pages = len(texts(out / "bench-print.pdf"))
    assert pages * 3 // 4 < len(early.keys) < pages
    # Each page's two layers (one blank page's for every blank page alike).
    assert len(sent.facts()) > pages * 3 // 2
    monkeypatch.setattr(parts, "pool_of", real_pool_of)
    # What the workers read of the layers adds up to what the pages of the whole PDF show.
    assert made and made[0] and made[0] == builder.preflight(project, out_dir=out)[1]

    # An edit: the few layers it changed are read in the workers too.
    monkeypatch.setattr(parts, "pool_of", pool_of)
    section = project / "content" / "02-section.md"
    head, body = section.read_text(encoding="utf-8").rsplit("---", 1)
    section.write_text(head + "---" + re.sub(r"\b([a-z]{5,})\b", lambda word: word[1][::-1], body, count=1), encoding="utf-8")
    build(project, out)
    sent = started[-1]
    assert len(started) == 4 and sent is not None and 0 < len(sent.facts()) < len(texts(out / "bench-print.pdf")) // 4


@pytest.mark.parametrize(
    ("other_first", "rebuild", "expected"),
    [
        (False, False, "True True False"),
        (True, False, "True True False"),
        (False, True, "True True False"),
        (True, True, "False False True"),
    ],
)
def test_an_early_worker_imports_weasyprint_in_its_turn_and_keeps_it_out_of_the_collections(
    other_first: bool, rebuild: bool, expected: str
) -> None:
    # ``other_first``: another worker took the lock first and imports meanwhile (here, for a tenth of a second).
    script = textwrap.dedent(
        f"""
        import gc, multiprocessing, sys, threading
        from booklet import parts
        first = multiprocessing.get_context("fork").Lock()
        if {other_first}:
            first.acquire()
            threading.Timer(0.1, first.release).start()
        before = gc.get_freeze_count()
        parts._import_weasyprint(first, {rebuild}, ["en-GB"])
        import pyphen
        hyphenation = sorted(path.name for path in pyphen.hdcache)
        print(gc.get_threshold()[0], "weasyprint" in sys.modules, gc.get_freeze_count() > before + 50_000, parts._import_later,
              first.acquire(block=False), hyphenation)
        """
    )
    threshold, *found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split(maxsplit=5)
    # Imported and kept out of the collections, or left to the worker's first part; the lock handed on either way.
    assert " ".join(found[:4]) == expected + " True"
    # A worker that serves one build leaves cycles to the end of the process, up to a million objects.
    from booklet import parts

    assert int(threshold) == parts.EARLY_WORKER_GARBAGE == 1_000_000
    # A worker that imports now reads the language's hyphenation dictionary too, as WeasyPrint names it.
    imports_later = expected.split()[2] == "True"
    assert found[4].strip() == ("[]" if imports_later else "['hyph_en_GB.dic']")


def test_workers_stopped_after_a_failure_while_one_sends_a_result_let_the_process_exit(tmp_path: Path) -> None:
    # The worker writes the start of a result (a length, then a few of its bytes) and goes no further,
    # as one does when it is stopped in the middle of sending a part.
    script = textwrap.dedent(
        """
        import os, struct, sys, time
        from pathlib import Path
        from booklet import parts
        started = Path(sys.argv[1])
        def half_sent():
            queue = sys._getframe(1).f_locals["result_queue"]
            os.write(queue._writer.fileno(), struct.pack("!i", 1 << 20) + b"half")
            started.touch()
            time.sleep(600)
        pool = parts.process_pool(1, preload=False)
        pool.submit(half_sent)
        while not started.exists():
            time.sleep(0.01)
        parts._stop(pool, failed=True)
        print("stopped")
        """
    )
    try:
        done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "started")], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the process never exited: the pool's thread waits for the rest of the result")
    assert (done.returncode, done.stdout) == (0, "stopped\n"), done.stderr


SPAWNED = textwrap.dedent(
    """
    import os, subprocess, sys
    spawned = []
    real_init = subprocess.Popen.__init__
    subprocess.Popen.__init__ = lambda self, args, *a, **k: spawned.append(os.path.basename(str(args[0]))) or real_init(self, args, *a, **k)
    """
)
LOADED = textwrap.dedent(
    """
    from weasyprint.text import ffi
    libraries = [ffi.gobject, ffi.pango, ffi.harfbuzz, ffi.harfbuzz_subset, ffi.fontconfig, ffi.pangoft2]
    print(",".join(sorted(set(spawned))) or "-", all(library is not None for library in libraries), ffi.pango.pango_version())
    """
)


def libraries_loaded(load: str, before: str = "") -> list[str]:
    """What importing WeasyPrint with ``load`` ran (programs), whether every library it wants loaded, and Pango's version."""
    script = SPAWNED + textwrap.dedent(before) + load + LOADED
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the library lookup it skips is Linux's")
def test_weasyprint_is_imported_without_looking_for_libraries_under_other_platforms_names() -> None:
    plain = libraries_loaded("import weasyprint")
    quick = libraries_loaded("from booklet.typeset import load_weasyprint; load_weasyprint()")
    assert "ldconfig" in plain[0], "without it, ctypes runs ldconfig (and gcc, ld) for each name"
    assert quick == ["-", "True", plain[2]], "no program run; the same libraries"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the library lookup it skips is Linux's")
def test_weasyprint_is_imported_without_the_lookup_while_another_thread_still_looks_up() -> None:
    # The build imports WeasyPrint while its workers' pool runs a thread of its own.
    script = textwrap.dedent(
        """
        import ctypes.util, threading, time
        real, callers = ctypes.util.find_library, []
        def counting(name):
            callers.append(threading.get_ident())
            return real(name)
        ctypes.util.find_library = counting
        lookups, done = [], threading.Event()
        def look_up():
            while not done.is_set():
                during = ctypes.util.find_library is not counting
                lookups.append((during, ctypes.util.find_library("c")))
        thread = threading.Thread(target=look_up)
        thread.start()
        while not lookups:
            time.sleep(0.001)
        from booklet.typeset import load_weasyprint
        load_weasyprint()
        done.set()
        thread.join()
        from weasyprint.text import ffi
        print(callers.count(threading.get_ident()), sum(during for during, _ in lookups), all(found for _, found in lookups), ffi.pango is not None)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "0", "the import looked nothing up"
    assert int(out[1]) > 0, "the other thread looked up while WeasyPrint was imported"
    assert out[2:] == ["True", "True"], "each of its lookups found the library, and WeasyPrint has its libraries"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the library lookup it skips is Linux's")
def test_weasyprint_is_imported_the_usual_way_when_a_library_is_only_found_by_lookup() -> None:
    # A system whose Pango the linker does not find by its file name, only ctypes' lookup does.
    hidden = """
        import cffi.api
        real_load = cffi.api._load_backend_lib
        def load(backend, name, flags):
            if name == "libpango-1.0.so.0":
                raise OSError("not found by its file name")
            return real_load(backend, name, flags)
        cffi.api._load_backend_lib = load
        """
    found = libraries_loaded("from booklet.typeset import load_weasyprint; load_weasyprint()", before=hidden)
    assert "ldconfig" in found[0] and found[1] == "True"


def test_weasyprint_fixed_size_arrays_are_made_without_parsing_and_are_cffis_own_types() -> None:
    # WeasyPrint's font subsetting asks cffi for an array of each size it meets: 'hb_codepoint_t[1298]'.
    script = textwrap.dedent(
        """
        from booklet.typeset import load_weasyprint
        load_weasyprint()
        from weasyprint.text.ffi import ffi
        parser, parses = ffi._parser, []
        real = parser._parse
        parser._parse = lambda source: parses.append(source) or real(source)
        made = [ffi.new("hb_codepoint_t[%d]" % size, list(range(size))) for size in (3, 1298, 3)]
        four = ffi.new("char[4]", b"abc")
        after = len(parses)
        with ffi._lock:
            own = ffi._get_cached_btype(parser.parse_type("hb_codepoint_t[1298]"))
        print(after, ffi.typeof(made[1]) is own, ffi.typeof(made[0]) is ffi.typeof(made[2]), list(made[1][1295:1298]), ffi.string(four))
        print(ffi.typeof(ffi.new("PangoRectangle *")).cname, len(parses) > after)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.splitlines()
    # Each item type is parsed once (hb_codepoint_t, char), and no size.
    assert out[0] == "2 True True [1295, 1296, 1297] b'abc'"
    assert out[1] == "PangoRectangle * True", "other types are parsed as before"


def test_weasyprint_lays_out_and_draws_on_a_stack_set_aside_in_one_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import weasyprint.document

    from booklet import typeset
    from booklet.sandbox import SandboxFetcher

    claimed: dict[str, int] = {}

    def watch(name: str, real: Any) -> Any:
        def watched(*args: Any, **options: Any) -> Any:
            frame, largest = sys._getframe(), 0
            while frame is not None:
                largest, frame = max(largest, frame.f_code.co_stacksize), frame.f_back
            claimed[name] = largest
            return real(*args, **options)

        return watched

    monkeypatch.setattr(weasyprint.HTML, "render", watch("render", weasyprint.HTML.render))
    monkeypatch.setattr(weasyprint.document.Document, "write_pdf", watch("write_pdf", weasyprint.document.Document.write_pdf))
    document = typeset.render("<p>Deep enough.</p>", base=tmp_path, fetcher=SandboxFetcher([tmp_path]))
    pdf = typeset.write_pdf(document, identity=b"deep")
    assert pdf.startswith(b"%PDF") and len(document.pages) == 1
    # A frame claims half of a 2 MiB chunk: the layout's calls go in the other half, never in a chunk of their own.
    assert claimed == {"render": typeset.DEEP_STACK_WORDS, "write_pdf": typeset.DEEP_STACK_WORDS}
    assert typeset.DEEP_STACK_WORDS * 8 + 8000 > 2**20


def test_a_build_starts_its_workers_before_reading_and_they_serve_every_edition_and_preflight(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from booklet import builder, parts, preflight

    events: list[str] = []
    real_pool, real_read = parts.process_pool, builder._read_content
    monkeypatch.setattr(parts, "process_pool", lambda *a, **k: events.append("workers") or real_pool(*a, **k))
    monkeypatch.setattr(builder, "_read_content", lambda *a, **k: events.append("content read") or real_read(*a, **k))
    monkeypatch.setattr(preflight, "PAGES_PER_WORKER", 4)  # preflight in workers too
    result = run("build", "--project", str(generated), "--out", str(tmp_path / "out"), "-e", "print", "-e", "screen")
    assert result.exit_code == 0, result.output
    assert events == ["workers", "content read"]
    assert typeset_count(result.output) > 0


def test_the_workers_measure_the_timeline_and_this_process_loads_no_weasyprint(generated: Path, tmp_path: Path) -> None:
    # In a process of its own: the test process has long imported WeasyPrint, and has threads (no early workers).
    script = textwrap.dedent(
        f"""
        import sys
        from booklet import builder, cli, parts
        sent, here = [], []
        real_ahead, real_typeset = parts.Runner.measure_ahead, builder._typeset
        parts.Runner.measure_ahead = lambda self, htmls: sent.extend(htmls) or real_ahead(self, htmls)
        builder._typeset = lambda pub, html, **k: here.append(html) or real_typeset(pub, html, **k)
        try:
            cli.run(["build", "--project", {str(generated)!r}, "--out", {str(tmp_path / "out")!r}, "-e", "print", "-q"])
        except SystemExit as exc:
            assert not exc.code, exc.code
        print(len(sent), len(here), "weasyprint" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    # The heads, the events at their widest, the labels on one spread: sent ahead, none typeset here.
    assert out == ["3", "0", "False"]
    # Measured once: a rebuild finds the heights in the cache.
    assert len(list((tmp_path / "out" / ".cache" / "measure").glob("*.json"))) == 3


def test_a_rebuild_with_nothing_changed_typesets_nothing(generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = build(generated, tmp_path / "out")
    made = first.read_bytes()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("typeset with nothing changed")

    import booklet.typeset

    monkeypatch.setattr(booklet.typeset, "render", refuse)
    second = build(generated, tmp_path / "out")
    assert second.read_bytes() == made
    assert "Nothing has changed since the last build; its PDFs are up to date" in LOG[0]
    assert "bench-print.pdf: " in LOG[0] and "Preflight of the print edition" in LOG[0]

    # A file touched but not changed: the build reads everything again, finds every part in the cache.
    section = generated / "content" / "02-section.md"
    os.utime(section, ns=(section.stat().st_atime_ns, section.stat().st_mtime_ns + 1_000_000_000))
    third = build(generated, tmp_path / "out")
    assert third.read_bytes() == made
    assert "The print edition is unchanged" in LOG[0]


def test_a_changed_output_is_built_again(generated: Path, tmp_path: Path) -> None:
    first = build(generated, tmp_path / "out")
    made = first.read_bytes()
    first.write_bytes(b"%PDF-1.7 damaged")
    assert build(generated, tmp_path / "out").read_bytes() == made
    assert "Nothing has changed" not in LOG[0]


@pytest.mark.parametrize("change", ["template", "brand", "image", "config"])
def test_the_cache_is_invalidated_by_what_changes(change: str, generated: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(generated, project)
    before = build(project, tmp_path / "out").read_bytes()
    if change == "template":
        (project / "templates").mkdir()
        (project / "templates" / "extra.css").write_text(".body p { color: rgb(200, 0, 0); }\n", encoding="utf-8")
    elif change == "brand":
        brand = project / "assets" / "brands" / "anniversary" / "_brand.yml"
        text = brand.read_text(encoding="utf-8")
        colour = re.search(r"primary: (\S+)", text)
        assert colour
        brand.write_text(text.replace(colour[0], "primary: '#7a1f5c'", 1), encoding="utf-8")
    elif change == "image":
        from PIL import Image

        Image.new("RGB", (1200, 800), (10, 200, 30)).save(project / "content" / "images" / "figure-02.png")
    else:
        toml = project / "booklet.toml"
        toml.write_text(toml.read_text(encoding="utf-8") + '\n[page.margins]\nouter = "25mm"\n', encoding="utf-8")
    after = build(project, tmp_path / "out")
    assert typeset_count(LOG[0]) >= 1
    assert after.read_bytes() != before
    # What the cache gave back is what a build from nothing makes.
    assert_same_publication(after, build(project, tmp_path / "fresh"))


def test_the_benchmark_script_runs_on_a_tiny_publication() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--tiny"], capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| tiny |")]
    assert [row.split("|")[2].strip() for row in rows][:6] == [
        "raw WeasyPrint, final HTML, one process",
        "booklet, single pass (--single-pass)",
        "booklet, cold (parts in parallel)",
        "rebuild, nothing changed",
        "rebuild after a one-word edit",
        "rebuild after an edit adding pages early",
    ]
    assert rows[0].split("|")[4].strip() == "1.00"
    # The preview's row: measured when a browser can be driven, else it says why not.
    preview = next(row for row in rows if "`booklet serve`" in row)
    assert re.search(r"\| \d+\.\d\d \|", preview) or "not installed" in preview
    assert re.search(r"on \d+ core", result.stdout)


def test_footnotes_of_two_sections_have_ids_of_their_own() -> None:
    from booklet.content import markdown_to_html

    first = markdown_to_html("A claim.[^1]\n\n[^1]: A note.", prefix="01-one")
    second = markdown_to_html("Another.[^1]\n\n[^1]: Another note.", prefix="02-two")
    ids = re.findall(r'id="([^"]+)"', first) + re.findall(r'id="([^"]+)"', second)
    assert ids == ["fnref:01-one-1", "fn:01-one-1", "fnref:02-two-1", "fn:02-two-1"]
    assert 'href="#fn:02-two-1"' in second


def test_one_markdown_parser_renders_each_text_as_a_fresh_one_would() -> None:
    import markdown

    from booklet import content

    texts = [
        textwrap.dedent(
            """
            The UN[^a] met *HTML* folk at [the site][home].

            *[HTML]: Hyper Text Markup Language
            *[UN]: United Nations
            [home]: https://example.org
            [^a]: A note.

            <div markdown="1">Some *inline* text.</div>

            ![Two flags](flags.png "The flags")

            Term
            : Its definition
            """
        ),
        "Plain text: no HTML, no UN, no [home] and no note.[^a]\n\n| a | b |\n|---|---|\n| 1 | 2 |",
        '<div markdown="1">Other *text*.</div>\n\nAnd the UN.',
    ]
    fresh = [
        markdown.Markdown(extensions=[*content.MARKDOWN_EXTENSIONS, content.FigureExtension()], output_format="html").convert(text)
        for text in texts
    ]
    # Abbreviations, references, footnotes and stashed HTML of a text do not carry into the next.
    assert [content.markdown_to_html(text) for text in texts] == fresh
    assert "<abbr" not in fresh[1] and "<abbr" not in fresh[2] and "example.org" not in fresh[1]
    assert content._parser() is content._parser()


# ---- Documents that share their stylesheets ----------------------------------------------


@pytest.mark.parametrize("layers", [False, True])
def test_documents_that_share_stylesheets_render_as_they_do_alone(tmp_path: Path, layers: bool) -> None:
    from booklet import typeset
    from booklet.sandbox import SandboxFetcher

    font = ROOT / "assets" / "fonts" / "inter" / "Inter-Bold.otf"
    (tmp_path / "site.css").write_text(
        textwrap.dedent(
            f"""
            {"@layer base, theme;" if layers else ""}
            @font-face {{ font-family: Brand; src: url("{font.as_uri()}"); }}
            @page {{ size: 100mm 60mm; margin: 10mm; @bottom-center {{ content: counter(page); }} }}
            {"@layer theme { h1 { color: #0039A6; } } @layer base { h1 { color: #D52B1E; } }" if layers else "h1 { color: #0039A6; }"}
            h1 {{ font-family: Brand; font-size: 14pt; }}
            """
        ),
        encoding="utf-8",
    )
    head = '<html><head><link rel="stylesheet" href="site.css"><style>@page :left { background: #F3F5F1; } p { font-size: 9pt; }</style></head>'

    def document(title: str) -> str:
        return head + f"<body><h1>{title}</h1><p>Page one.</p><p style='break-before: page'>Page two.</p></body></html>"

    fetcher = SandboxFetcher([tmp_path, ROOT / "assets"])
    reuse = typeset.Reuse()
    for title in ("First document", "Second document"):
        shared = typeset.render(document(title), base=tmp_path, fetcher=fetcher, reuse=reuse)
        alone = typeset.render(document(title), base=tmp_path, fetcher=fetcher)
        for a, b in zip(shared.pages, alone.pages, strict=True):
            assert a._page_box.page_type == b._page_box.page_type
        a_pdf, b_pdf = (doc.write_pdf() for doc in (shared, alone))
        for page_a, page_b in zip(pdfium.PdfDocument(a_pdf), pdfium.PdfDocument(b_pdf), strict=True):
            image_a, image_b = (page.render(scale=100 / 72).to_pil().convert("RGB") for page in (page_a, page_b))
            assert ImageChops.difference(image_a, image_b).getbbox() is None, title
    # Both sheets were parsed once, for the two documents; a sheet with cascade layers is parsed with its document.
    assert len(reuse.sheets) == (1 if layers else 2)
    assert len(reuse.layered) == (1 if layers else 0)


def test_a_part_is_laid_out_without_margin_boxes_even_where_a_stylesheet_insists(tmp_path: Path) -> None:
    from booklet import parts, typeset
    from booklet.sandbox import SandboxFetcher

    html = (
        "<html><head><style>@page { size: 100mm 60mm; @bottom-center { content: 'folio ' counter(page); } }"
        "@page :left { @top-left { content: 'head' !important; } }</style>"
        f"<style>{parts.NO_FURNITURE}</style></head><body><p>One.</p><p style='break-before: page'>Two.</p></body></html>"
    )
    fetcher = SandboxFetcher([tmp_path])

    def margin_boxes(**options: object) -> list[list[str]]:
        document = typeset.render(html, base=tmp_path, fetcher=fetcher, **options)
        return [[box.at_keyword for box in page._page_box.children if hasattr(box, "at_keyword")] for page in document.pages]

    # A rule of a higher specificity overrides the parts' own "none": WeasyPrint would draw it.
    assert margin_boxes() == [[], ["@top-left"]]
    assert margin_boxes(margin_boxes=False) == [[], []]

    # A worker typesets a part without them; a furniture document, which is nothing but them, with them.
    setup = plain_setup(tmp_path)
    parts._start_worker(setup)
    part = parts._typeset(parts.Job("part", html, 0))
    furniture = parts._typeset(parts.Job("furniture", html, 0, furniture=True))
    assert [pdfium.PdfDocument(typeset_.pdf)[1].get_textpage().get_text_range() for typeset_ in (part, furniture)] == [
        "Two.",
        "Two.\r\nhead",
    ]


def test_pages_that_match_the_same_page_rules_share_their_styles_and_render_as_alone(tmp_path: Path) -> None:
    from booklet import typeset
    from booklet.sandbox import SandboxFetcher

    font = ROOT / "assets" / "fonts" / "inter" / "Inter-Bold.otf"
    style = textwrap.dedent(
        f"""
        @font-face {{ font-family: Brand; src: url("{font.as_uri()}"); }}
        html {{ font-family: Brand; font-size: 9pt; }}
        @page {{ size: 100mm 60mm; margin: 12mm; @bottom-center {{ content: "folio " counter(page); }} }}
        @page :first {{ counter-reset: page 7; @top-center {{ content: "first"; }} }}
        @page :left {{ background: #F3F5F1; @top-left {{ content: "left " string(head); }} }}
        @page :right {{ @top-right {{ content: "right " string(head); }} }}
        @page :blank {{ @top-center {{ content: "blank"; }} }}
        @page :nth(4) {{ @top-center {{ content: "fourth"; }} }}
        @page wide {{ margin: 6mm; @bottom-left {{ content: "wide " counter(page, upper-roman); }} }}
        @page :nth(2 of wide) {{ @top-center {{ content: "second wide"; }} }}
        h1 {{ string-set: head content(); font-size: 11pt; }}
        .wide {{ page: wide; }}
        """
    )
    pages = [
        "<h1>One</h1><p>Page.</p>",
        "<h1 style='break-before: right'>Two</h1><p>After a blank page.</p>",
        "<h1 style='break-before: page'>Three</h1>",
        "<div class='wide'><h1>Four</h1><p>Wide.</p><p style='break-before: page'>Wide again.</p><p style='break-before: page'>And again.</p></div>",
        "<h1 style='break-before: page'>Five</h1>",
        "<p style='break-before: page'>Six.</p><p style='break-before: page'>Seven.</p>",
    ]
    html = f"<html><head><style>{style}</style></head><body>{''.join(pages)}</body></html>"
    fetcher = SandboxFetcher([tmp_path, ROOT / "assets"])
    shared = typeset.render(html, base=tmp_path, fetcher=fetcher, reuse=typeset.Reuse())
    alone = typeset.render(html, base=tmp_path, fetcher=fetcher)
    assert len(shared.pages) == len(alone.pages) == 10
    kinds = [(page._page_box.page_type.side, page._page_box.page_type.name) for page in shared.pages]
    # The last two left pages of the plain kind match the same rules: one style between them.
    plain_left = [page._page_box.style for page, kind in zip(shared.pages, kinds, strict=True) if kind == ("left", "")][-2:]
    assert plain_left[0] is plain_left[1]
    assert plain_left[0] is not [page._page_box.style for page, kind in zip(alone.pages, kinds, strict=True) if kind == ("left", "")][-1]
    a_pdf, b_pdf = (doc.write_pdf() for doc in (shared, alone))
    texts_a = [page.get_textpage().get_text_range() for page in pdfium.PdfDocument(a_pdf)]
    texts_b = [page.get_textpage().get_text_range() for page in pdfium.PdfDocument(b_pdf)]
    assert texts_a == texts_b
    assert "first" in texts_a[0] and "blank" in texts_a[1] and "fourth" in texts_a[3]
    assert sum("second wide" in text for text in texts_a) == 1 and sum("wide X" in text for text in texts_a) == 3
    for page_a, page_b in zip(pdfium.PdfDocument(a_pdf), pdfium.PdfDocument(b_pdf), strict=True):
        image_a, image_b = (page.render(scale=100 / 72).to_pil().convert("RGB") for page in (page_a, page_b))
        assert ImageChops.difference(image_a, image_b).getbbox() is None


@pytest.mark.parametrize("mode", [[], ["--single-pass"]])
def test_a_build_leaves_no_font_folders_behind(generated: Path, tmp_path: Path, mode: list[str]) -> None:
    # WeasyPrint keeps the fonts a document loads in a temporary folder, removed when the document
    # is collected; workers end without collecting their documents, the preview keeps its fonts
    # from one build to the next, and the command leaves what is still alive uncollected.
    temp = tmp_path / "temp"
    temp.mkdir()
    # The sample in one pass: its documents hold their fonts in reference cycles, freed only by a collection.
    project = ROOT if mode else generated
    command = [
        sys.executable,
        "-m",
        "booklet",
        "build",
        "--project",
        str(project),
        "--out",
        str(tmp_path / "out"),
        "-e",
        "print",
        "-q",
        *mode,
    ]
    subprocess.run(command, env={**os.environ, "TMPDIR": str(temp)}, check=True, capture_output=True)
    assert list((tmp_path / "out").glob("*-print.pdf"))
    assert list(temp.iterdir()) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_the_command_keeps_freed_memory_for_its_next_allocations() -> None:
    # Blocks freed and allocated again, as a build does with its pages: without the setting,
    # glibc gives the freed memory back each time, and every page of it faults again on first use.
    script = textwrap.dedent(
        """
        import resource, sys
        import booklet.cli

        def cycle():
            blocks = [bytes(100_000) for _ in range(100)]
            del blocks

        def measure(args=None):
            cycle()
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            for _ in range(10):
                cycle()
            print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)

        if sys.argv[1] == "command":
            booklet.cli.main = measure
            booklet.cli.run([])
        else:
            measure()
        """
    )
    faults = {
        mode: int(subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, check=True).stdout)
        for mode in ("command", "default")
    }
    # Ten cycles of about 10 MB: some 24,000 pages if each cycle faults its memory in again.
    assert faults["default"] > 10_000
    assert faults["command"] < faults["default"] / 5


def test_the_workers_typeset_without_importing_the_builder(tmp_path: Path) -> None:
    # They are forked before this process imports the builder (Jinja, Markdown, the timeline): a worker
    # that imported it on its first part would make an edit's rebuild wait for that.
    record = tmp_path / "modules.txt"
    script = textwrap.dedent(
        f"""
        import sys
        import booklet.parts as parts
        real = parts._typeset
        def typeset(job):
            try:
                return real(job)
            finally:
                with open({str(record)!r}, "a") as out:
                    out.write(" ".join(name for name in ("booklet.builder", "jinja2", "markdown") if name in sys.modules) + "\\n")
        parts._typeset = typeset
        from booklet.cli import run
        run(["build", "--project", {str(ROOT)!r}, "--out", {str(tmp_path / "out")!r}, "-e", "print", "-q"])
        """
    )
    subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    lines = record.read_text().splitlines()
    assert len(lines) > 5
    assert set(lines) == {""}


def test_after_an_earlier_build_only_the_worker_that_takes_the_lone_part_imports_weasyprint(tmp_path: Path) -> None:
    # A first build has parts for every worker: they all import WeasyPrint while this process reads.
    # A rebuild after an edit has one part: a second worker importing would only take a core from it.
    from booklet import parts

    project = generate(tmp_path / "project", sections=3, paragraphs=3, seed=5)
    log = tmp_path / "log.txt"
    script = textwrap.dedent(
        f"""
        import os
        import booklet.parts as parts
        real_load, real_typeset = parts._load_weasyprint, parts._typeset
        def note(what):
            with open({str(log)!r}, "a") as out:
                out.write(f"{{what}} {{os.getpid()}}\\n")
        def load():
            note("import")
            real_load()
        def typeset(job):
            note("part")
            return real_typeset(job)
        parts._load_weasyprint, parts._typeset = load, typeset
        from booklet.cli import run
        run(["build", "--project", {str(project)!r}, "--out", {str(tmp_path / "out")!r}, "-e", "print", "-q"])
        """
    )

    def build() -> tuple[set[str], set[str]]:
        log.write_text("")
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        notes = [line.split() for line in log.read_text().splitlines()]
        return {pid for what, pid in notes if what == "import"}, {pid for what, pid in notes if what == "part"}

    imported, typesetting = build()
    assert len(imported) == parts.workers()
    section = sorted((project / "content").glob("*.md"))[0]
    text = section.read_text(encoding="utf-8")
    body = len(text) - len(text.split("---", 2)[-1])
    word = re.compile(r"\b[a-z]{5,}\b").search(text, body)
    assert word is not None
    section.write_text(text[: word.start()] + word[0][::-1] + text[word.end() :], encoding="utf-8")
    imported, typesetting = build()
    assert len(imported) == 1
    assert typesetting == imported


def test_the_command_collects_garbage_less_often_than_pythons_default() -> None:
    script = "import gc, booklet.cli\nbooklet.cli.main = lambda args: print(*gc.get_threshold())\nbooklet.cli.run([])"
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert [int(value) for value in found] == [50_000, 20, 20]


def test_a_forked_worker_leaves_the_fonts_of_its_parent_in_place(tmp_path: Path) -> None:
    import multiprocessing

    from booklet import typeset
    from booklet.sandbox import SandboxFetcher

    font = ROOT / "assets" / "fonts" / "inter" / "Inter-Bold.otf"
    html = f'<html><head><style>@font-face {{ font-family: Brand; src: url("{font.as_uri()}"); }} p {{ font-family: Brand; }}</style></head><body><p>Text</p></body></html>'
    reuse = typeset.Reuse()
    typeset.render(html, base=tmp_path, fetcher=SandboxFetcher([tmp_path, ROOT / "assets"]), reuse=reuse)
    folder = Path(reuse.shared["font_config"]._folder)
    assert any(folder.iterdir())
    child = multiprocessing.get_context("fork").Process(target=reuse.close)
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert any(folder.iterdir()), "a worker removed fonts its parent still uses"
    reuse.close()
    assert not folder.exists()


def test_a_build_flushes_to_disk_what_it_delivers_and_not_its_caches(generated: Path, tmp_path: Path) -> None:
    # In a process of its own, whose workers are forked from it: they write the images.
    log = tmp_path / "flushed.txt"
    script = textwrap.dedent(
        f"""
        import os
        from booklet import cli
        real = os.fsync

        def fsync(fd):
            with open({str(log)!r}, "a") as out:
                out.write(os.readlink(f"/proc/self/fd/{{fd}}") + "\\n")
            real(fd)

        os.fsync = fsync
        try:
            cli.run(["build", "--project", {str(generated)!r}, "--out", {str(tmp_path / "out")!r}, "-e", "print", "-q"])
        except SystemExit as exc:
            assert not exc.code, exc.code
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    # Each file is flushed under its temporary name, ".<name>.<random>.tmp", beside it.
    flushed = {
        str(Path(line).parent.relative_to(tmp_path / "out") / re.sub(r"^\.(.*)\.[^.]+\.tmp$", r"\1", Path(line).name))
        for line in log.read_text().split()
    }
    assert "bench-print.pdf" in flushed
    # A cache file a crash leaves empty is read as missing, and made again.
    assert not [name for name in flushed if name.startswith((".cache/parts", ".cache/images", ".cache/measure", ".cache/preflight"))]


def test_a_command_line_build_collects_cycles_seldom_while_it_runs(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from booklet import builder, parts

    seen = []
    real = builder.build
    monkeypatch.setattr(builder, "build", lambda *args, **options: seen.append(gc.get_threshold()) or real(*args, **options))
    before = gc.get_threshold()
    build(generated, tmp_path / "out")
    assert seen == [(parts.EARLY_WORKER_GARBAGE, *before[1:])]
    assert gc.get_threshold() == before

    # A process that ends with the command keeps it: put back, it would start a collection of all the build made.
    script = textwrap.dedent(
        f"""
        import gc
        from booklet import cli
        try:
            cli.run(["build", "--project", {str(generated)!r}, "--out", {str(tmp_path / "own")!r}, "-e", "print", "-q"])
        except SystemExit as exc:
            assert not exc.code, exc.code
        print(gc.get_threshold()[0])
        """
    )
    kept = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert kept == [str(parts.EARLY_WORKER_GARBAGE)]
