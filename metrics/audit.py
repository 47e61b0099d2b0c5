"""The audit log: who did what, and when, to the board's definitions and outputs.

One JSON object per line (config edits, restores, exports, refused requests), appended to
a file that is never rewritten, so it is easy to ship to an organisation's log store.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_LOG = Path(__file__).resolve().parents[1] / "logs" / "audit.jsonl"
_LOCK = threading.Lock()


def log_path() -> Path:
    """ALLIANCE_AUDIT_LOG wins; otherwise logs/audit.jsonl beside the project."""
    return Path(os.environ.get("ALLIANCE_AUDIT_LOG") or DEFAULT_LOG)


def record(who: str, action: str, what: str, **details: Any) -> dict[str, Any]:
    """Append one entry; returns it. `action` is a short verb such as 'save_definition'."""
    entry = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "who": who,
        "action": action,
        "what": what,
        **{k: v for k, v in details.items() if v is not None},
    }
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, default=str, ensure_ascii=False)
    with _LOCK, path.open("a", encoding="utf-8") as stream:
        stream.write(line + "\n")
    return entry


def recent(limit: int = 200) -> list[Mapping[str, Any]]:
    """The latest entries, newest first (unreadable lines are skipped, not fatal)."""
    path = log_path()
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines()[-limit:]:
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return list(reversed(entries))
