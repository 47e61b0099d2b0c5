"""What the data on the board are, from board.yaml `data_status` (one place for the site's
banner, the exports' label and notes, and the showcase).

    data_status: {kind: synthetic}                  # the sample alliance
    data_status: {kind: test, text: "Test extract of 3 March: not for decisions."}
    data_status: {kind: live}                        # real, checked data: no banner

Nothing is claimed when `data_status` is left out: a board on real data never says its
figures are synthetic because the sample configuration did.
"""

from __future__ import annotations

from metrics.definitions.board_files import DataStatus
from metrics.definitions.catalogue import Catalogue

LABELS = {
    "synthetic": "Synthetic data",
    "test": "Test data",
    "provisional": "Provisional data",
    "live": "",
}
DEFAULT_TEXT = {
    "synthetic": (
        "Synthetic data: every figure comes from a generated, fictional alliance for "
        "demonstration. No real person or service is described."
    ),
    "test": (
        "Test data: these figures are for testing the board and must not be used for decisions."
    ),
    "provisional": (
        "Provisional data: these figures are still being checked and may change before "
        "they are final."
    ),
    "live": "",
}


def data_status(catalogue: Catalogue) -> DataStatus | None:
    return catalogue.board.data_status


def status_label(catalogue: Catalogue) -> str:
    """The badge: 'Synthetic data', 'Test data', 'Provisional data'; '' for live data or
    when board.yaml says nothing."""
    status = data_status(catalogue)
    return LABELS[status.kind] if status is not None else ""


def status_note(catalogue: Catalogue) -> str:
    """The sentence said on every page and in every export ('' when there is none)."""
    status = data_status(catalogue)
    if status is None:
        return ""
    return status.text.strip() or DEFAULT_TEXT[status.kind]


def is_synthetic(catalogue: Catalogue) -> bool:
    status = data_status(catalogue)
    return status is not None and status.kind == "synthetic"
