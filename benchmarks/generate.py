"""Write a synthetic publication for benchmarks: sections with figures, footnotes, a table and a timeline."""

from __future__ import annotations

import argparse
import random
import shutil
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Placeholder prose: the benchmark publication is filler, so it carries no facts of its own.
WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "ad",
    "minim",
    "veniam",
    "quis",
    "nostrud",
    "exercitation",
    "ullamco",
    "laboris",
    "nisi",
    "aliquip",
    "ex",
    "ea",
    "commodo",
    "consequat",
    "duis",
    "aute",
    "irure",
    "in",
    "reprehenderit",
    "voluptate",
    "velit",
    "esse",
    "cillum",
    "fugiat",
    "nulla",
    "pariatur",
    "excepteur",
    "sint",
    "occaecat",
    "cupidatat",
    "non",
    "proident",
    "sunt",
    "culpa",
    "qui",
    "officia",
    "deserunt",
    "mollit",
    "anim",
    "id",
    "est",
    "laborum",
]


def paragraph(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def figure(path: Path, seed: int) -> None:
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", (1200, 800), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(1200), rng.randrange(800)
        draw.ellipse(
            (x, y, x + rng.randrange(40, 300), y + rng.randrange(40, 300)),
            fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)),
        )
    image.save(path)


def generate(target: Path, *, sections: int = 30, paragraphs: int = 14, seed: int = 1) -> Path:
    """A project of ``sections`` sections in ``target``; about ten pages per section with the defaults."""
    rng = random.Random(seed)
    if target.exists():
        shutil.rmtree(target)
    (target / "content" / "images").mkdir(parents=True)
    shutil.copytree(ROOT / "assets" / "fonts", target / "assets" / "fonts")
    shutil.copytree(ROOT / "assets" / "brands", target / "assets" / "brands")
    shutil.copytree(ROOT / "assets" / "artwork", target / "assets" / "artwork")
    (target / "booklet.toml").write_text(
        textwrap.dedent(
            """\
            name = "bench"
            title = "Benchmark Publication"
            subtitle = "A generated book of placeholder text"
            date = 2024-01-02
            brand = "assets/brands/anniversary/_brand.yml"
            editions = ["print"]
            """
        ),
        encoding="utf-8",
    )
    for number in range(1, sections + 1):
        figure(target / "content" / "images" / f"figure-{number:02d}.png", seed * 1000 + number)
        parts = [f'---\ntitle: "Section {number}: {paragraph(rng, 4).rstrip(".")}"\n---\n']
        for index in range(paragraphs):
            text = paragraph(rng, rng.randrange(70, 130))
            if index == 2:
                text += f"[^n{index}]"
                parts.append(text)
                parts.append(f"[^n{index}]: {paragraph(rng, 20)}")
                continue
            if index == 4:
                parts.append(f'![Figure {number}](images/figure-{number:02d}.png "Figure {number}: {paragraph(rng, 8)}")')
            if index == 7:
                parts.append("## " + paragraph(rng, 5).rstrip("."))
            if index == 9 and number % 3 == 0:
                rows = "\n".join(f"| {rng.randrange(1900, 2024)} | {paragraph(rng, 6)} |" for _ in range(8))
                parts.append("| Year | Note |\n| --- | --- |\n" + rows)
            parts.append(text)
        (target / "content" / f"{number:02d}-section.md").write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    events = [
        f"  - date: {1900 + i * 4}\n    title: Event {i + 1}\n    text: {paragraph(rng, 12)}\n    tag: {('diplomacy', 'economy', 'culture')[i % 3]}\n"
        for i in range(24)
    ]
    (target / "content" / "timeline.yaml").write_text("title: The years at a glance\nevents:\n" + "".join(events), encoding="utf-8")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", type=Path)
    parser.add_argument("--sections", type=int, default=30)
    parser.add_argument("--paragraphs", type=int, default=19)
    args = parser.parse_args()
    print(generate(args.target, sections=args.sections, paragraphs=args.paragraphs))


if __name__ == "__main__":
    main()
