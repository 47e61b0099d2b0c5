"""The export content model: the slides, deck, tables, sections, SPC lines, impact pages,
cover and board pack that every writer lays out (plain text and Altair charts built from
figures as shown), and how an unavailable part reads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import altair as alt

from metrics.exports import Audience

SYNTHETIC_LABEL = "Synthetic data"
SYNTHETIC_NOTE = (
    "Synthetic data: every figure comes from a generated, fictional alliance for "
    "demonstration. No real person or service is described."
)
FICTIONAL_LABEL = "Fictional story"
REAL_STORY_LABEL = "Story"


class NothingToExport(Exception):
    """No part of the export could be built (every slide or section is unavailable)."""


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Problem:
    """A part that could not be built, and why (printed as a warning by the CLI)."""

    where: str
    reason: str

    def text(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(frozen=True)
class Disclosed:
    """One disclosure-controlled figure as computed and as shown (the audit ledger).

    `label` is what the figure is printed next to (a metric title, a group, a month);
    `raw_text` the figure as it would read uncontrolled.
    """

    label: str
    raw: float | None
    raw_text: str
    shown: str
    suppressed: bool
    where: str  # "big number", "table", "chart", ...


@dataclass(frozen=True)
class ChartContent:
    """An Altair chart (width 'container') built from shown figures, and its words."""

    chart: alt.TopLevelMixin
    alt_text: str
    kind: str  # spc | its | series | equity


@dataclass(frozen=True)
class Story:
    title: str
    text: str
    fictional: bool

    @property
    def label(self) -> str:
        return FICTIONAL_LABEL if self.fictional else REAL_STORY_LABEL


@dataclass(frozen=True)
class Slide:
    """One showcase slide: one message, one big number, one chart, one story."""

    number: int  # 1-based position in the deck
    id: str
    headline: str
    big_number: str = ""
    interval: str = ""  # '' unless the number comes from a model
    number_label: str = ""  # what the big number is, e.g. 'introductions in January 2025'
    caption: str = ""
    chart: ChartContent | None = None
    story: Story | None = None
    outcome: str = ""  # title of the big outcome served
    metric_title: str = ""
    notes: str = ""  # speaker notes: method and caveats
    unavailable: str = ""  # why the slide cannot show its figures ('' when it can)
    shows_suppressed: bool = False

    @property
    def available(self) -> bool:
        return not self.unavailable


@dataclass(frozen=True)
class Deck:
    title: str
    subtitle: str
    event: str
    audience: Audience
    policy_name: str
    legend: str  # the footnote for '*' under the audience's policy
    synthetic_label: str
    period: str  # e.g. 'April 2019 to March 2025'
    slides: tuple[Slide, ...]
    problems: tuple[Problem, ...] = ()
    disclosed: tuple[Disclosed, ...] = ()
    status_label: str = ""  # board.yaml data_status: 'Synthetic data', or '' (none claimed)

    @property
    def available_slides(self) -> tuple[Slide, ...]:
        return tuple(s for s in self.slides if s.available)


@dataclass(frozen=True)
class Table:
    """A table as readers see it (text cells). `count_cells` are (row, column) positions
    of disclosure-controlled counts; `icon_columns` hold SPC icon names, not text."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    count_cells: tuple[tuple[int, int], ...] = ()
    icon_columns: tuple[int, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    charts: tuple[ChartContent, ...] = ()
    unavailable: str = ""
    summary: str = ""  # one sentence for the cover sheet

    @property
    def available(self) -> bool:
        return not self.unavailable


@dataclass(frozen=True)
class SPCLine:
    """One metric's Making Data Count reading as shown (both icons, plain words)."""

    metric_id: str
    metric_title: str
    domain: str
    latest: str
    month: str
    variation_icon: str | None
    assurance_icon: str | None
    icon_words: str
    attention: str  # why it needs the board's attention ('' when it does not)
    unavailable: str = ""
    latest_is_count: bool = False  # the latest figure is a controlled count


@dataclass(frozen=True)
class ImpactPage:
    """One planned interrupted time-series study (a metric's `its:` block)."""

    metric_id: str
    metric_title: str
    intervention: str
    model: str
    big_number: str = ""
    interval: str = ""
    sentence: str = ""
    cumulative: str = ""
    diagnostics: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    chart: ChartContent | None = None
    unavailable: str = ""
    verdict: str = ""  # the badge: "Model fits", "Model fits, with caveats", "Does not fit: ..."
    verdict_colour: str = ""  # green, orange or red
    verdict_words: str = ""  # the verdict in one board sentence
    headline: bool = False  # the board's headline study (board.yaml headline_study)

    @property
    def available(self) -> bool:
        return not self.unavailable

    @property
    def concludes(self) -> bool:
        """Whether the model fits well enough to conclude (a red badge does not)."""
        return self.available and self.verdict_colour != "red"


@dataclass(frozen=True)
class Cover:
    """A board paper cover sheet (domain.md section 4)."""

    title: str
    organisation: str
    meeting: str
    date: dt.date
    purpose: str
    summary: tuple[str, ...]
    recommendation: str
    audience_note: str
    period: str


@dataclass(frozen=True)
class BoardPack:
    cover: Cover
    exceptions: tuple[SPCLine, ...]
    spc_summary: tuple[SPCLine, ...]
    impact_pages: tuple[ImpactPage, ...]
    money: Section
    equity: Section
    data_quality: Section
    method: Section
    audience: Audience
    policy_name: str
    legend: str
    synthetic_label: str
    problems: tuple[Problem, ...] = ()
    disclosed: tuple[Disclosed, ...] = ()
    showcase: Section | None = None  # the showcase slides' messages and their figures
    status_label: str = ""  # board.yaml data_status: 'Synthetic data', or '' (none claimed)

    @property
    def sections(self) -> tuple[Section, ...]:
        middle = (self.showcase,) if self.showcase is not None else ()
        return (self.money, self.equity, self.data_quality, *middle, self.method)

    @property
    def has_figures(self) -> bool:
        """Whether any part with figures was built (the cover and method notes always are)."""
        return (
            any(not line.unavailable for line in self.spc_summary)
            or any(page.available for page in self.impact_pages)
            or any(s.available for s in (self.money, self.equity, self.data_quality))
        )


def unavailable_text(reason: str) -> str:
    """How an unavailable part reads in every format."""
    return f"Unavailable: {reason}"


__all__ = [
    "FICTIONAL_LABEL",
    "SYNTHETIC_LABEL",
    "SYNTHETIC_NOTE",
    "BoardPack",
    "ChartContent",
    "Cover",
    "Deck",
    "Disclosed",
    "ImpactPage",
    "NothingToExport",
    "Problem",
    "SPCLine",
    "Section",
    "Slide",
    "Story",
    "Table",
    "unavailable_text",
]
