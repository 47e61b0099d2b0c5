"""Typed models of the board-level files under config/: the outcomes framework
(framework.yaml), the board's layout, money and data status (board.yaml), disclosure
control (disclosure.yaml) and the showcase (showcase.yaml); and FILE_MODELS, every file's
model. Sources, interventions and metrics are in `metrics.definitions.models`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from metrics.definitions.models import (
    Identifier,
    InterventionsFile,
    MetricsFile,
    Month,
    SourcesFile,
    _Model,
)

# --------------------------------------------------------------------------- framework


class Outcome(_Model):
    id: Identifier
    title: str = Field(description="Name of the outcome, as the board says it.")
    description: str = Field(default="", description="What achieving it means.")
    sub_outcomes: list[str] = Field(
        default_factory=list, description="Finer outcomes under it, in plain words."
    )


class Domain(_Model):
    id: Identifier
    title: str = Field(description="Name of the domain, as pages show it.")
    kind: Literal["outcome", "system"] = Field(
        description="outcome: serves one of the big outcomes; system: how the system runs."
    )
    outcome: str | None = Field(default=None, description="The big outcome this domain serves.")
    description: str = Field(default="", description="What the domain covers.")


class FrameworkFile(_Model):
    title: str = Field(default="Outcomes framework", description="Name of the framework.")
    outcomes: list[Outcome] = Field(description="The big outcomes (see Outcome).")
    domains: list[Domain] = Field(description="Domains that group the metrics (see Domain).")


# --------------------------------------------------------------------------- board layout


class ProvisionalPolicy(_Model):
    """How the latest months of a source, still filling up, are shown (one policy for every
    page, the board pack and the slides)."""

    headline: Literal["latest_final", "latest"] = Field(
        default="latest_final",
        description="Which month headline figures are for: 'latest_final' (the latest month "
        "that is no longer provisional; the default) or 'latest' (the latest month with data, "
        "labelled provisional when it is).",
    )


class DataStatus(_Model):
    """What the data on the site are, said on every page and in every export."""

    kind: Literal["synthetic", "test", "provisional", "live"] = Field(
        description="synthetic: generated data (a demonstration); test: real-looking data "
        "for testing, not for decisions; provisional: real data still being checked; live: "
        "the real, checked data (no banner unless `text` is written)."
    )
    text: str = Field(
        default="",
        description="The words shown (plain text); a sentence for the kind when empty.",
    )


class UnitCost(_Model):
    """How one activity unit in the cost data becomes a unit cost."""

    label: str = Field(description="The unit cost's words, e.g. 'per occupied bed day'.")
    per_year: bool = Field(
        default=False,
        description="A caseload (people on the books at month end, a stock): spend / "
        "person-months x 12, the cost of supporting one person for a year.",
    )


def _default_unit_costs() -> dict[str, UnitCost]:
    return {
        "bed days": UnitCost(label="per occupied bed day"),
        "placement weeks": UnitCost(label="per placement week"),
        "introductions": UnitCost(label="per introduction"),
        "referrals": UnitCost(label="per referral"),
        "visits": UnitCost(label="per visit"),
        "finished courses": UnitCost(label="per finished course"),
        "job starts": UnitCost(label="per job start"),
        "people on caseload": UnitCost(label="per person supported a year", per_year=True),
    }


class MoneySettings(_Model):
    """The Money page's settings: savings targets and unit costs (figures come from the
    cost source; these say what to compare them with and how to name them)."""

    savings_targets: dict[str, Annotated[float, Field(gt=0, le=1)]] = Field(
        default_factory=lambda: {"ipsa": 0.20},
        description="Savings targets by service_line_id, as a share of the line's budget: "
        "{ipsa: 0.20} reads 'save 20% of the budget against the baseline year's spend'.",
    )
    headline_line: str = Field(
        default="ipsa",
        description="The service_line_id whose saving the Money summary and the board pack "
        "lead with (it should have a savings target).",
    )
    unit_costs: dict[str, UnitCost] = Field(
        default_factory=_default_unit_costs,
        description="Unit cost words by activity_unit (e.g. 'bed days': {label: per occupied "
        "bed day}); a unit not listed reads 'per <unit>'.",
    )


class BoardFile(_Model):
    title: str = Field(default="Alliance Board", description="Name of the site.")
    organisation: str = Field(default="", description="Organisation named on exports.")
    overview_domains: list[str] = Field(
        default_factory=list, description="Domain ids in the order the Overview shows them."
    )
    featured_metrics: list[str] = Field(
        default_factory=list, description="Metric ids featured on the board."
    )
    default_from: Month | None = Field(
        default=None, description="First month of the default period (the first with data)."
    )
    default_to: Month | None = Field(
        default=None, description="Last month of the default period (the latest with data)."
    )
    area: str = Field(
        default="",
        description="The place the board covers, named in chart titles (e.g. Lambeth); "
        "'the whole alliance' when empty.",
    )
    lcn_column: str = Field(default="lcn", description="Column holding the neighbourhood (LCN).")
    lcns: list[str] = Field(default_factory=list, description="Neighbourhoods offered as a filter.")
    link_hosts: list[
        Annotated[
            str,
            Field(pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"),
        ]
    ] = Field(
        default_factory=list,
        description="Hosts that descriptions may link to (https only), e.g. "
        "www.england.nhs.uk; a link to any other host is shown as its words alone.",
    )
    provisional: ProvisionalPolicy = Field(
        default_factory=ProvisionalPolicy,
        description="How provisional months (a source's latest provisional_months) are shown.",
    )
    headline_study: str | None = Field(
        default=None,
        description="Metric id of the impact study the Impact page and the board pack open "
        "on (a metric with an its: block); the first planned study when omitted.",
    )
    money: MoneySettings = Field(
        default_factory=MoneySettings,
        description="Savings targets and unit costs for the Money page and the board pack "
        "(see Money settings).",
    )
    data_status: DataStatus | None = Field(
        default=None,
        description="What the data are (see Data status), shown on every page and export, "
        "e.g. {kind: synthetic}; nothing is claimed when omitted.",
    )


# --------------------------------------------------------------------------- disclosure

PolicyName = Literal["mhsds", "nhs_secondary_care", "none"]


class DisclosureContext(_Model):
    policy: PolicyName = Field(
        description="mhsds: under 5 (including 0) shown as *, others to the nearest 5; "
        "nhs_secondary_care: 1 to 7 shown as *, 0 shown, others to the nearest 5; "
        "none: figures as computed (internal management information only)."
    )
    area_totals_unrounded: bool = Field(
        default=False,
        description="Treat whole-area totals as 'top level' (shown unrounded), as national "
        "totals are in NHS publications; breakdowns are still controlled.",
    )


class DisclosureFile(_Model):
    board: DisclosureContext = Field(
        default_factory=lambda: DisclosureContext(policy="none", area_totals_unrounded=True),
        description="Policy for the board's own pages (signed-in members).",
    )
    public: DisclosureContext = Field(
        default_factory=lambda: DisclosureContext(policy="nhs_secondary_care"),
        description="Policy for anything public: showcase slides, public exports.",
    )

    @model_validator(mode="after")
    def _public_is_always_controlled(self) -> DisclosureFile:
        if self.public.policy == "none":
            raise ValueError(
                "public outputs are always disclosure-controlled: "
                "choose mhsds or nhs_secondary_care"
            )
        return self


# --------------------------------------------------------------------------- showcase


class StoryDef(_Model):
    title: str = Field(description="Title of the story.")
    text: str = Field(description="The story, a few sentences.")
    fictional: bool = Field(
        default=True, description="Composite, fictional story (always labelled as such)."
    )


class Comparison(_Model):
    """The groups a slide compares: its headline names `group`, its big number and chart
    show that group's rate against `reference`'s."""

    dimension: str = Field(
        description="The breakdown column the groups belong to, e.g. ethnicity (one of the "
        "metric's breakdowns, and a column of its population source)."
    )
    group: str = Field(description="The group the headline speaks of, e.g. Black.")
    reference: str = Field(description="The group it is compared with, e.g. White.")


class SlideDef(_Model):
    id: Identifier
    headline: str = Field(description="One message: a specific number, its impact, context.")
    outcome: str | None = Field(default=None, description="The big outcome this slide serves.")
    metric: str | None = Field(default=None, description="Metric id behind the big number.")
    number: Literal["effect", "latest", "change", "ratio", "none"] = Field(
        default="latest",
        description="effect: the ITS effect with its interval; latest: the latest value; "
        "change: the change on a year earlier; ratio: the compared group's rate against the "
        "reference group's over the period, with its 95% interval (needs compare); none: no "
        "big number.",
    )
    intervention: str | None = Field(
        default=None, description="Intervention id for number: effect (default: the metric's)."
    )
    chart: Literal["its", "spc", "series", "compare", "none"] = Field(
        default="spc",
        description="The chart under the number: its, spc, series (the metric's line), "
        "compare (the two compared groups' rates per year with their 95% intervals; needs "
        "compare) or none.",
    )
    compare: Comparison | None = Field(
        default=None,
        description="Compare two groups of a rate metric (see Comparison): needed whenever "
        "the headline speaks of a group, e.g. {dimension: ethnicity, group: Black, "
        "reference: White}.",
    )
    period: Literal["board", "whole"] = Field(
        default="board",
        description="board: the board's default period; whole: the metric's whole history "
        "(for a slide about how far things have come).",
    )
    out_of: str | None = Field(
        default=None,
        description="Metric id whose latest value is the whole the big number is part of "
        "(number: latest), e.g. a cohort size: the label reads '91 of 200 ...'.",
    )
    label: str = Field(
        default="",
        description="What the big number counts, in words after it (default: the metric's "
        "unit), e.g. 'people living independently'.",
    )
    caption: str = Field(default="", description="Plain words under the big number.")
    story: StoryDef | None = Field(
        default=None, description="A person's story beside the number (see Story)."
    )
    notes: str = Field(default="", description="Speaker notes.")


class ShowcaseFile(_Model):
    title: str = Field(description="Title of the showcase.")
    subtitle: str = Field(default="", description="Line under the title.")
    event: str = Field(default="", description="Where and when it is presented.")
    slides: list[SlideDef] = Field(description="The slides, in order (see Slide).")


FILE_MODELS: dict[str, type[_Model]] = {
    "sources": SourcesFile,
    "framework": FrameworkFile,
    "interventions": InterventionsFile,
    "metrics": MetricsFile,
    "board": BoardFile,
    "disclosure": DisclosureFile,
    "showcase": ShowcaseFile,
}
