"""Every colour the dashboards use, in one place, and the WCAG contrast they are checked against.

The hues are Okabe-Ito's (distinguishable with the common colour-vision deficiencies); those too
light to see on white are darkened, keeping their hue, to at least 3:1 against the white page:
WCAG 2.2 success criterion 1.4.11 (non-text contrast) asks 3:1 for the parts of a chart needed
to read it (bars, lines, points, limit lines) and for focus indicators; text needs 4.5:1
(1.4.3). Okabe-Ito's orange and sky blue were 2.3:1 and its yellow 1.3:1. Lines also differ by
dash pattern, so no reading depends on colour alone (1.4.1).
"""

from __future__ import annotations

#: Series colours, in the order charts use them. Contrast with white in the comments.
OKABE_ITO: dict[str, str] = {
    "blue": "#0072B2",  # 5.2:1
    "orange": "#BB8100",  # 3.4:1 (Okabe-Ito #E69F00, 2.3:1)
    "green": "#009E73",  # 3.4:1
    "purple": "#C870A1",  # 3.3:1 (#CC79A7, 3.1:1)
    "sky": "#1C95D9",  # 3.3:1 (#56B4E9, 2.3:1)
    "vermillion": "#D55E00",  # 3.9:1
    "black": "#000000",
    "yellow": "#978E0C",  # 3.4:1, olive (#F0E442, 1.3:1): last, as before
}
SERIES_COLOURS: tuple[str, ...] = tuple(OKABE_ITO.values())
#: Funnel plot control limits: 95% lighter and dashed, 99.8% darker and dotted.
LIMIT_COLOURS: dict[str, str] = {"95": OKABE_ITO["sky"], "99.8": "#005A8C"}  # 3.3:1 and 7.4:1
POINT = OKABE_ITO["vermillion"]  # the areas on a funnel plot
CENTRE = "#000000"  # the county line
LEADER = "#767676"  # lines from a point to its label (4.5:1; was #999, 2.8:1)
GRID = "#E2E2E2"  # grid lines: decorative (every value is written or in the table), exempt
PAGE = "#FFFFFF"  # the page and panel background

TEXT = "#1B1B1B"  # 17:1
TEXT_MUTED = "#444444"  # 9.7:1: notes, axes
TEXT_HIDDEN = "#555555"  # 7.5:1: "[c] hidden" labels
LINK = "#0B5394"  # 7.8:1
FOCUS = "#B35900"  # focus outlines, 4.8:1 (was Okabe-Ito orange, 2.3:1)
NOTICE = "#0072B2"  # the left border of a notice
NOTICE_BACKGROUND = "#E8F1FA"
BANNER_BORDER = "#B35900"  # the synthetic-data banner
BANNER_BACKGROUND = "#FFF3CD"
BORDER = "#D0D7DE"  # panel and table borders: decorative, exempt

#: Colours that carry information and so must reach 3:1 against the page (non-text contrast).
GRAPHIC_COLOURS: tuple[str, ...] = (*SERIES_COLOURS, *LIMIT_COLOURS.values(), POINT, CENTRE, LEADER, FOCUS,
                                    NOTICE, BANNER_BORDER)
#: Colours of text, which must reach 4.5:1 against the page (and the banner's background).
TEXT_COLOURS: tuple[str, ...] = (TEXT, TEXT_MUTED, TEXT_HIDDEN, LINK)


def _channel(value: float) -> float:
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2.2 relative luminance of a colour written #RRGGBB, #RGB or rgb(r, g, b)."""
    c = colour.strip().lower()
    if c.startswith("rgb"):
        r, g, b = (float(x) for x in c[c.index("(") + 1 : c.index(")")].split(",")[:3])
    else:
        c = c.lstrip("#")
        if len(c) == 3:
            c = "".join(ch * 2 for ch in c)
        r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r / 255) + 0.7152 * _channel(g / 255) + 0.0722 * _channel(b / 255)


def contrast_ratio(a: str, b: str = PAGE) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)
