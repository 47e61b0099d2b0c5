"""The board: a validated catalogue, its loaded data, and the figures pages ask for.

`open_board` runs every validation stage and loads the data once. metrics.serving keeps
the last good board serving while a changed configuration is loaded in the background.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from metrics.definitions.catalogue import Catalogue, config_files
from metrics.definitions.issues import Issue, sort_issues
from metrics.definitions.models import MetricDef
from metrics.sql.backends import QueryError
from metrics.sql.compiler import NOT_RECORDED, neighbourhood_probe
from metrics.sql.data_checks import check_data, data_folder_issues
from metrics.sql.expand import expand_from_data
from metrics.sql.series import (
    SeriesError,
    SeriesQuery,
    SeriesResult,
    compute_series,
    compute_sources_by_lcn,
    plan_series,
)
from metrics.sql.warehouse import Warehouse
from metrics.validation import load_config

T = TypeVar("T")


MEMO_CAPACITY = 8192  # computed values kept per board (least recently used go first)


class SharedMemo:
    """Values computed once and shared by every session that reads the same board.

    Single-flight: the first caller of a key computes it while concurrent callers of that
    key wait for its result (twenty board members opening the link together compute each
    figure once, not twenty times). Bounded: past `capacity` entries the least recently
    used are dropped. A computation that raises is not kept: its waiters get the same
    exception and the next caller tries again.
    """

    def __init__(self, capacity: int = MEMO_CAPACITY) -> None:
        self.capacity = capacity
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._flights: dict[Hashable, _Flight] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            flight = self._flights.get(key)
            owner = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not owner:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value
        try:
            value = compute()
        except BaseException as exc:
            flight.error = exc
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()
            raise
        with self._lock:
            self._values[key] = value
            while len(self._values) > self.capacity:
                self._values.popitem(last=False)
            self._flights.pop(key, None)
        flight.value = value
        flight.done.set()
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Hashable]:
        with self._lock:
            return iter(list(self._values))


class _Flight:
    """One computation in progress, and its result when done."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


@dataclass
class Board:
    catalogue: Catalogue
    warehouse: Warehouse
    issues: list[Issue]
    opened_at: dt.datetime = field(default_factory=dt.datetime.now)

    def __post_init__(self) -> None:
        # Per-board memo: a board never changes once opened, so caching here cannot serve
        # stale figures (a changed file opens a new board).
        self._lcn_recorded: dict[str, bool] = {}
        self._memo = SharedMemo()
        # Names this board among all a process opens, for caches kept outside it (the
        # pages' recorded elements): a reload's new board never matches an old entry.
        self.token = uuid.uuid4().hex

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """Compute once per board and share with every session (analyses of an immutable
        board never go stale; concurrent callers of one key wait for one computation)."""
        return self._memo.get(key, compute)

    def _series(self, metric_id: str, query: SeriesQuery) -> SeriesResult:
        return self.memo(
            ("series", metric_id, query), lambda: self._compute_series(metric_id, query)
        )

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.is_error]

    def metric(self, metric_id: str) -> MetricDef:
        return self.catalogue.metrics[metric_id]

    def series(self, metric_id: str, query: SeriesQuery = SeriesQuery()) -> SeriesResult:
        """The metric's monthly series under `query`. Raises SeriesError with a reason.

        The whole span is computed once per metric, breakdown and neighbourhood, and the
        period is cut from it: a reader moving the period never waits for the database.
        """
        if query.start is None and query.end is None:
            return self._series(metric_id, query)
        whole = self._series(metric_id, dataclasses.replace(query, start=None, end=None))
        months = whole.frame["month"]
        keep = pd.Series(True, index=whole.frame.index)
        if query.start is not None:
            keep &= months >= pd.Timestamp(query.start)
        if query.end is not None:
            keep &= months <= pd.Timestamp(query.end)
        return dataclasses.replace(
            whole, query=query, frame=whole.frame[keep].reset_index(drop=True)
        )

    def _compute_series(self, metric_id: str, query: SeriesQuery) -> SeriesResult:
        metric = self.catalogue.metrics.get(metric_id)
        if metric is None:
            raise SeriesError(f"unknown metric '{metric_id}'")
        if query.lcn and query.breakdown is None and self._splits_by_lcn(metric):
            sliced = self._lcn_slice(metric, query)
            if sliced is not None:
                return sliced
        return compute_series(
            self.warehouse,
            metric,
            self.catalogue.sources,
            query,
            lcn_column=self.catalogue.board.lcn_column,
            lcn_recorded=not query.lcn or self.lcn_recorded(metric_id),
        )

    def _splits_by_lcn(self, metric: MetricDef) -> bool:
        """Whether the metric's neighbourhood series come from one query of every
        neighbourhood: when its source records neighbourhoods for it."""
        column = self.catalogue.board.lcn_column
        source = self.catalogue.sources.get(metric.source)
        return source is not None and column in source.columns and self.lcn_recorded(metric.id)

    def _source_by_lcn(self, metric: MetricDef) -> dict[str, dict[str, pd.DataFrame] | SeriesError]:
        """Every neighbourhood's series of every metric that reads `metric`'s source and
        is served so, from one query of the source (per date it is read by)."""
        metrics = [
            m
            for m in self.catalogue.metrics.values()
            if m.source == metric.source and self._splits_by_lcn(m)
        ]
        return compute_sources_by_lcn(
            self.warehouse,
            metrics,
            self.catalogue.sources,
            lcn_column=self.catalogue.board.lcn_column,
        )

    def _lcn_slice(self, metric: MetricDef, query: SeriesQuery) -> SeriesResult | None:
        """The neighbourhood's series from one query of every neighbourhood (made once per
        source and board: a reader's first neighbourhood change fills all of them). None
        when the data have no rows for that neighbourhood: its own query says what that is."""
        column = self.catalogue.board.lcn_column
        found = self.memo(("series_by_lcn", metric.source), lambda: self._source_by_lcn(metric))
        every = found[metric.id]
        if isinstance(every, SeriesError):
            raise every
        frame = every.get(query.lcn or "")
        if frame is None or query.lcn == NOT_RECORDED:
            return None
        if query.start is not None:
            frame = frame[frame["month"] >= pd.Timestamp(query.start)]
        if query.end is not None:
            frame = frame[frame["month"] <= pd.Timestamp(query.end)]
        # The SQL shown is the neighbourhood's own query: it gives these same figures (a
        # test checks every metric and neighbourhood), and it is what an analyst re-runs.
        own = plan_series(
            metric,
            self.catalogue.sources,
            query,
            lcn_column=column,
            covered_table=self.warehouse.covered_table(metric.source),
        )
        return SeriesResult(
            metric=metric,
            query=query,
            frame=frame.reset_index(drop=True),
            sql=self.warehouse.render(own.aggregate),
            notes=own.notes,
        )

    def lcn_recorded(self, metric_id: str) -> bool:
        """Whether the metric's rows carry a neighbourhood (some measures in a shared
        table are recorded only for the whole area, with the column left blank)."""
        if metric_id not in self._lcn_recorded:
            metric = self.catalogue.metrics[metric_id]
            column = self.catalogue.board.lcn_column
            loaded = self.warehouse.loaded.get(metric.source)
            recorded = False
            if loaded is not None and column in loaded.source.columns:
                probe = neighbourhood_probe(metric, self.catalogue.sources, column)
                try:
                    rows = self.warehouse.select(probe, label=f"metric '{metric_id}'")
                except QueryError:
                    rows = pd.DataFrame()
                recorded = not rows.empty
            self._lcn_recorded[metric_id] = recorded
        return self._lcn_recorded[metric_id]

    def data_span(self) -> tuple[dt.date, dt.date] | None:
        """First and last month of any loaded dated source (for period pickers)."""
        months = [
            month
            for loaded in self.warehouse.loaded.values()
            for month in (loaded.first_month, loaded.last_month)
            if month is not None
        ]
        return (min(months), max(months)) if months else None


def watched_files(config_dir: Path, catalogue: Catalogue | None = None) -> list[Path]:
    """Config files plus the data files they point at: a change to any reloads the board."""
    files = config_files(config_dir)
    if catalogue is not None:
        files += [
            catalogue.data_dir / source.path
            for source in catalogue.sources.values()
            if source.path is not None  # a warehouse table is refreshed on a schedule
        ]
    return files


def open_board(
    config_dir: Path | str, *, folder: Path | None = None, threads: int | None = None
) -> Board:
    """Validate the configuration, load the data and check it (all four stages). The
    warehouse's database file goes in `folder` (default: a private temporary folder); on a
    shared warehouse (ALLIANCE_WAREHOUSE) the sources are read where they are."""
    from metrics.sql.remote import open_for

    loaded = load_config(config_dir)
    warehouse = open_for(loaded.catalogue, folder=folder, threads=threads)
    # Parameterised metrics whose values (or names) come from the data are expanded now.
    catalogue, expanded = expand_from_data(loaded.catalogue, warehouse)
    board = Board(catalogue, warehouse, [])
    # The data checks compute every metric's whole series through the board, so the
    # pages' first views find them cached.
    issues = (
        loaded.issues
        + data_folder_issues(loaded, warehouse)
        + expanded
        + check_data(catalogue, warehouse, board.series)
    )
    board.issues = sort_issues(issues)
    return board
