"""The focus ring is visible: >= 3:1 against every background it sits on (WCAG 1.4.11)."""

from __future__ import annotations

import re

from gateway.web.ui import STATIC_DIR


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_focus_ring_contrast_is_at_least_three_to_one():
    css = (STATIC_DIR / "ui.css").read_text()
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", css))
    ring = re.search(r"^:focus-visible \{ outline: 3px solid var\(--([a-z-]+)\)", css, re.M)
    assert ring, "no global focus ring"
    for background in ("paper", "canvas", "info-bg", "error-bg", "warn-bg"):
        assert _contrast(colours[ring.group(1)], colours[background]) >= 3, background
    header = re.search(r"\.site-header :focus-visible \{ outline-color: var\(--([a-z-]+)\)", css)
    assert header, "the header (navy) needs its own ring colour"
    assert _contrast(colours[header.group(1)], colours["brand"]) >= 3


def test_measures_list_is_full_height_not_a_scroll_box():
    css = (STATIC_DIR / "ui.css").read_text()
    rule = re.search(r"^\.checkboxes \{([^}]*)\}", css, re.M)
    assert rule, "no .checkboxes rule"
    assert "max-height" not in rule.group(1)
    assert "overflow" not in rule.group(1)
