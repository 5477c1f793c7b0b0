"""PNG charts of baseline against actual load (matplotlib, Agg backend), labelled in Chinese.

matplotlib's bundled fonts have no CJK glyphs, so the charts use Noto Sans CJK from the PyPI
package ``cvttf-notosanscjk-regular`` (SIL Open Font License). Without it the labels fall back
to English rather than rendering empty boxes.
"""

from __future__ import annotations

import importlib.util
import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_LABELS_ZH = {"baseline": "基线负荷", "actual": "实际负荷", "window": "响应时段", "hour": "时刻（小时）"}
_LABELS_EN = {"baseline": "baseline", "actual": "actual", "window": "event window", "hour": "hour"}


@lru_cache(maxsize=1)
def cjk_font_name() -> str | None:
    """Register the packaged CJK font with matplotlib and return its family name, or None."""
    spec = importlib.util.find_spec("cvttf_NotoSansCJK_Regular")
    if spec is None or not spec.submodule_search_locations:
        log.warning("no CJK font package installed; chart labels fall back to English")
        return None
    from matplotlib import font_manager

    fonts = sorted(Path(list(spec.submodule_search_locations)[0]).glob("*.otf"))
    if not fonts:
        return None
    font_manager.fontManager.addfont(str(fonts[0]))
    return font_manager.FontProperties(fname=str(fonts[0])).get_name()


def plot_load_chart(
    path: Path,
    baseline: np.ndarray | None,
    actual: np.ndarray,
    unit: str,
    title: str,
    window: tuple[int, int] | None,
    interval_minutes: int,
) -> Path:
    """Draw baseline and actual curves over one day, shading the event window, and save a PNG.

    ``title`` should be Chinese; it is replaced by ``path``'s stem when no CJK font is available.
    matplotlib is imported here so that importing the tools stays fast.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = cjk_font_name()
    labels = _LABELS_ZH if font else _LABELS_EN
    if not font:
        title = path.stem

    hours = np.arange(len(actual)) * interval_minutes / 60
    with plt.rc_context({"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"], "axes.unicode_minus": False}):
        figure, axes = plt.subplots(figsize=(9, 4))
        if baseline is not None:
            axes.plot(hours, baseline, label=labels["baseline"], color="tab:gray", linestyle="--")
        axes.plot(hours, actual, label=labels["actual"], color="tab:blue")
        if window is not None:
            start, end = window[0] * interval_minutes / 60, window[1] * interval_minutes / 60
            axes.axvspan(start, end, color="tab:orange", alpha=0.15, label=labels["window"])
        axes.set_xlim(0, 24)
        axes.set_xticks(range(0, 25, 2))
        axes.set_xlabel(labels["hour"])
        axes.set_ylabel(unit)
        axes.set_title(title)
        axes.legend(loc="upper left")
        axes.grid(alpha=0.3)
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)
    return path
