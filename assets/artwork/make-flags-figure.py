"""Make content/images/flags.png, the sample's raster figure, from the two flag SVGs.

Run from the project folder: python assets/artwork/make-flags-figure.py
"""

from pathlib import Path

import pypdfium2
from weasyprint import HTML

HERE = Path(__file__).resolve().parent
TARGET = HERE.parent.parent / "content" / "images" / "flags.png"
HTML_PAGE = f"""<style>
@page {{ size: 104mm 34mm; margin: 0; }}
body {{ margin: 0; display: flex; gap: 8mm; justify-content: center; align-items: center; height: 34mm; }}
img {{ height: 30mm; outline: 0.3mm solid #C8C8C8; }}
</style>
<img src="{(HERE / "flag-pakistan.svg").as_uri()}"><img src="{(HERE / "flag-russia.svg").as_uri()}">"""

pdf = pypdfium2.PdfDocument(HTML(string=HTML_PAGE).write_pdf())
image = pdf[0].render(scale=400 / 72).to_pil().convert("RGB")  # 400 ppi at 104 mm wide
TARGET.parent.mkdir(parents=True, exist_ok=True)
image.save(TARGET, optimize=True)
print(TARGET, image.size)
