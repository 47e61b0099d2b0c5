"""The board: a validated catalogue, its loaded data, and the figures pages ask for.

`open_board` runs every validation stage and loads the data once. metrics.serving keeps
the last good board serving while a changed configuration is loaded in the background.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from metrics.definitions.catalogue import Catalogue, config_files
from metrics.definitions.issues import Issue, sort_issues
from metrics.definitions.models import MetricDef
from metrics.definitions.validate import check_data, load_config
from metrics.series import SeriesError, SeriesQuery, SeriesResult, compute_series
from metrics.sql.compiler import neighbourhood_probe
from metrics.warehouse import QueryError, Warehouse, open_warehouse

T = TypeVar("T")


@dataclass
class Board:
    catalogue: Catalogue
    warehouse: Warehouse
    issues: list[Issue]
    opened_at: dt.datetime = field(default_factory=dt.datetime.now)

    def __post_init__(self) -> None:
        # Per-board memo: a board never changes once opened, so caching here cannot serve
        # stale figures (a changed file opens a new board).
        self._series = lru_cache(maxsize=2048)(self._compute_series)
        self._lcn_recorded: dict[str, bool] = {}
        self._memo: dict[Hashable, Any] = {}
        self._memo_lock = threading.Lock()

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """Compute once per board (analyses of an immutable board never go stale)."""
        if key not in self._memo:
            value = compute()
            with self._memo_lock:
                self._memo.setdefault(key, value)
        return self._memo[key]

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
        return compute_series(
            self.warehouse,
            metric,
            self.catalogue.sources,
            query,
            lcn_column=self.catalogue.board.lcn_column,
            lcn_recorded=not query.lcn or self.lcn_recorded(metric_id),
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
        files += [catalogue.data_dir / source.path for source in catalogue.sources.values()]
    return files


def open_board(
    config_dir: Path | str, *, folder: Path | None = None, threads: int | None = None
) -> Board:
    """Validate the configuration, load the data and check it (all four stages). The
    warehouse's database file goes in `folder` (default: a private temporary folder)."""
    loaded = load_config(config_dir)
    warehouse = open_warehouse(
        loaded.catalogue.sources.values(),
        loaded.catalogue.data_dir,
        timeout=loaded.catalogue.query_timeout,
        folder=folder,
        threads=threads,
    )
    board = Board(loaded.catalogue, warehouse, [])
    # The data checks compute every metric's whole series through the board, so the
    # pages' first views find them cached.
    issues = (
        loaded.issues + warehouse.issues + check_data(loaded.catalogue, warehouse, board.series)
    )
    board.issues = sort_issues(issues)
    return board
