"""Figures drawn again only where they changed: the machinery behind the explorer's views.

A :class:`LiveFigure` keeps one matplotlib figure per model. After a step it updates its
artists in place, restores a cached image of everything that did not move (axes, ticks, names,
legends), draws again only the axes whose limits moved, and draws the moving artists over it.
The pixels equal those of a full draw (``tests/test_explorer.py`` checks this).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Hashable

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox, IdentityTransform
from PIL import Image

from sim.model import CircleModel


def encode_png(canvas: FigureCanvasAgg) -> bytes:
    """The canvas's current pixels as PNG bytes (fast zlib level: a screen image)."""
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw",
                             "RGBA", 0, 1)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="png", compress_level=1)
    return out.getvalue()


class LiveFigure:
    """A figure made once for a model and updated in place; drawn again only when its key moves.

    Subclasses build their artists in ``__init__`` and implement ``key`` (what the figure
    shows, hashable), ``update`` (set the artists from the model) and ``moving`` (the artists
    a step changes). Everything else (axes, ticks, names, legends) is drawn once into a cached
    background, drawn again only when ``layout`` (e.g. the axis limits) changes.
    """

    def __init__(self, figure: Figure) -> None:
        self.figure = figure
        self.canvas = FigureCanvasAgg(figure)
        self._shown: Hashable = object()     # matches no key: the first refresh updates
        self._png: bytes | None = None
        self._background: tuple[Hashable, object] | None = None
        #: PNGs made and full redraws of the background (tests check what is reused).
        self.draws = self.backgrounds = self.panel_draws = 0
        self._panel_keys: list[Hashable] = []
        self._boxes: list[Bbox] = []

    def key(self, model: CircleModel) -> Hashable:
        raise NotImplementedError

    def update(self, model: CircleModel) -> None:
        raise NotImplementedError

    def moving(self) -> list[Artist]:
        """The artists a step changes, drawn over the background every time."""
        return []

    def layout(self) -> Hashable:
        """What the background shows besides constant parts (the background is kept while it
        stays the same)."""
        return None

    def refresh(self, model: CircleModel) -> bool:
        """Bring the artists up to the model; True when something changed."""
        key = self.key(model)
        if key == self._shown:
            return False
        self.update(model)
        self._shown, self._png = key, None
        return True

    def png(self, model: CircleModel) -> bytes:
        """The figure for the model's current state as PNG, drawn again only after a change."""
        self.refresh(model)
        if self._png is None:
            self._png, self.draws = self.render(), self.draws + 1
        return self._png

    def panels(self) -> list[tuple[Axes, Hashable]]:
        """Axes that can be drawn again alone, each with what its part of the background shows
        (e.g. its limits); a change redraws that axes only."""
        return []

    def render(self) -> bytes:
        """Restore the background (drawing again the panels, or all, whose layout changed),
        draw the moving artists over it in z-order, and encode the pixels."""
        moving = self.moving()
        frames = {id(a.axes): a.axes for a in moving if a.axes is not None}.values()
        moving = sorted([*moving, *(s for ax in frames for s in ax.spines.values())],
                        key=lambda a: a.get_zorder())    # frames stay above what they hold
        layout, panels = self.layout(), self.panels()
        renderer = self.canvas.get_renderer()
        full = self._background is None or self._background[0] != layout
        changed: list[int] = []
        if full:
            with _left_out(moving):
                self.canvas.draw()
            self._boxes = cells([ax for ax, _ in panels], renderer)
            self.backgrounds += 1
        else:
            self.canvas.restore_region(self._background[1])
            changed = [i for i, (_, key) in enumerate(panels) if key != self._panel_keys[i]]
            with _left_out(moving):
                for i in changed:
                    self._clear(self._boxes[i], renderer)
                    panels[i][0].draw(renderer)
            self.panel_draws += len(changed)
        if full or changed:
            self._background = (layout, self.canvas.copy_from_bbox(self.figure.bbox))
        self._panel_keys = [key for _, key in panels]
        for artist in moving:
            if artist.get_visible():
                artist.draw(renderer)
        return encode_png(self.canvas)

    def _clear(self, box: Bbox, renderer) -> None:
        """Paint the figure's background colour over ``box`` (display pixels)."""
        patch = Rectangle((box.x0, box.y0), box.width, box.height,
                          transform=IdentityTransform(), facecolor=self.figure.get_facecolor(),
                          edgecolor="none", linewidth=0, antialiased=False)
        patch.set_figure(self.figure)
        patch.draw(renderer)


def cells(axes: list[Axes], renderer) -> list[Bbox]:
    """The part of the figure each axes owns (display pixels): up to 8 px right of the
    neighbour on its left, half-way to the neighbours above and below, the figure's edges
    elsewhere, and the top of its title when nothing is above (figure titles stay)."""
    boxes = [ax.get_window_extent(renderer) for ax in axes]
    width, _ = renderer.get_canvas_width_height()
    out = []
    for ax, box in zip(axes, boxes):
        left = [b.x1 + 8 for b in boxes if b.x1 <= box.x0 and _overlap(b.intervaly, box)]
        right = [box.x1 + 8 for b in boxes if b.x0 >= box.x1 and _overlap(b.intervaly, box)]
        below = [(b.y1 + box.y0) / 2 for b in boxes if b.y1 <= box.y0 and
                 _overlap(b.intervalx, box, x=True)]
        above = [(box.y1 + b.y0) / 2 for b in boxes if b.y0 >= box.y1 and
                 _overlap(b.intervalx, box, x=True)]
        top = min(above) if above else ax.get_tightbbox(renderer).y1 + 2
        out.append(Bbox.from_extents(max(left, default=0), max(below, default=0),
                                     min(right, default=width), top))
    return out


def _overlap(interval, box: Bbox, x: bool = False) -> bool:
    low, high = box.intervalx if x else box.intervaly
    return interval[0] < high and low < interval[1]


@contextlib.contextmanager
def _left_out(artists: list[Artist]):
    """Leave the artists out of a full draw (animated), then make them ordinary again so that
    ``savefig`` and notebooks draw them as usual."""
    for artist in artists:
        artist.set_animated(True)
    try:
        yield
    finally:
        for artist in artists:
            artist.set_animated(False)


def room(limits: tuple[float, float] | None, values: np.ndarray) -> tuple[float, float]:
    """Y limits holding ``values``: the current ``limits`` while the values stay inside them,
    else widened by a third of the range beyond the values, so the following quarters seldom
    move them (each move redraws the axes)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return limits or (0.0, 1.0)
    low, high = float(values.min()), float(values.max())
    if limits is not None and limits[0] <= low and high <= limits[1]:
        return limits
    # a series still at zero gets a unit span, not one of 1e-9 (an axis offset "1e-10")
    span = max(high - low, 0.02 * max(abs(low), abs(high))) or 1.0
    keep_low, keep_high = (False, False) if limits is None else (limits[0] <= low,
                                                                  high <= limits[1])
    return (limits[0] if keep_low else low - 0.35 * span,
            limits[1] if keep_high else high + 0.35 * span)
