"""Draw the installable app's PNG icons (``src/loa/web/static/icons/``) from the shape of
``favicon.svg``: a white loudspeaker on Loa's red. Run by hand when the logo changes; the PNGs are
checked in, so neither the tests nor an install need Pillow to draw them.

    python tools/make_icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "src" / "loa" / "web" / "static" / "icons"
RED, WHITE = (179, 38, 30, 255), (255, 255, 255, 255)


def draw(size: int, *, maskable: bool) -> Image.Image:
    """The 32-unit drawing of favicon.svg scaled to ``size``; a maskable icon keeps the speaker in the
    central safe zone (80 %) on a full-bleed background."""
    scale_up = 4  # drawn large, then reduced: smooth edges
    big = size * scale_up
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if maskable:
        pen.rectangle((0, 0, big, big), fill=RED)
    else:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 6 // 32, fill=RED)
    inset = 0.2 if maskable else 0.0
    unit = big * (1 - 2 * inset) / 32
    offset = big * inset

    def p(x: float, y: float) -> tuple[float, float]:
        return (offset + x * unit, offset + y * unit)

    pen.polygon([p(6, 13), p(11, 13), p(18, 8), p(18, 24), p(11, 19), p(6, 19)], fill=WHITE)
    for radius, width in ((4.6, 2.2), (9.2, 2.2)):
        box = (*p(20 - radius, 16 - radius), *p(20 + radius, 16 + radius))
        pen.arc(box, start=-60, end=60, fill=WHITE, width=round(width * unit))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
    draw(512, maskable=True).save(OUT / "icon-maskable-512.png", optimize=True)


if __name__ == "__main__":
    main()
