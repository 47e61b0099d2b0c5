"""Edit a metric definition safely: validate as you type, preview, diff, save atomically
with history, detect edits made elsewhere, restore earlier versions, or create a new metric.

Deep link: ?metric=ID.
"""

from __future__ import annotations

import streamlit as st

from metrics import audit
from metrics.editing import (
    ConflictError,
    InvalidDefinitionError,
    append_item,
    history,
    locate_metric,
    metric_files,
    new_metric_item,
    replace_lines,
    restore,
    save_file,
    slug,
    text_hash,
    unified_diff,
    validate_candidate,
)
from metrics.ui.preview import preview_metric
from metrics.ui.state import analyst_notice, page_context, url_param

state, filters = page_context()
who = st.session_state["identity"].who if "identity" in st.session_state else "unknown"
board = state.board
catalogue = board.catalogue
config_dir = catalogue.config_dir

st.title("Edit metric definitions")
analyst_notice()

edit_tab, new_tab, history_tab = st.tabs(["Edit a metric", "New metric", "History and restore"])


def show_issues(issues, first_line: int = 1) -> None:
    for issue in issues:
        where = (
            f"line {issue.line - first_line + 1} of your edit" if issue.line >= first_line else ""
        )
        text = issue.format_text() + (f"  [{where}]" if where else "")
        (st.error if issue.is_error else st.warning)(text)


with edit_tab:
    ids = list(catalogue.metrics)
    requested = url_param("metric")
    metric_id = st.selectbox(
        "Metric",
        ids,
        index=ids.index(requested) if requested in ids else 0,
        format_func=lambda mid: f"{catalogue.metrics[mid].title} ({mid})",
        key="editor_metric",
    )
    st.query_params["metric"] = metric_id
    opened = st.session_state.get("editor_opened")
    if (
        opened is None
        or opened["metric"] != metric_id
        or st.session_state.pop("editor_reload", False)
    ):
        location = locate_metric(config_dir, metric_id)
        if location is None:
            st.error(f"The definition of '{metric_id}' was not found in config/metrics/.")
            st.stop()
        opened = {
            "metric": metric_id,
            "path": str(location.path),
            "start": location.start_line,
            "end": location.end_line,
            "file_text": location.file_text,
            "hash": location.file_hash,
            "item": location.item_text,
        }
        st.session_state["editor_opened"] = opened
        st.session_state["editor_text"] = location.item_text
    path = config_dir.__class__(opened["path"])
    st.caption(
        f"{path.relative_to(config_dir.parent)}, lines {opened['start']} to {opened['end']}."
    )
    edited = st.text_area("YAML", key="editor_text", height=420, help="Ctrl+Enter checks the edit.")
    candidate_file = replace_lines(opened["file_text"], opened["start"], opened["end"], edited)
    loaded, issues = validate_candidate(config_dir, path, candidate_file)
    errors = [i for i in issues if i.is_error]
    if not issues:
        st.success("Valid: no problems found.")
    show_issues(issues, opened["start"])

    changed = edited != opened["item"]
    if changed:
        with st.expander("Changes (diff)", expanded=True):
            st.code(
                unified_diff(opened["item"], edited, path.name) or "no changes", language="diff"
            )
    with st.expander("Preview with the current data", expanded=changed and not errors):
        preview_metric(board, loaded, metric_id, filters)

    save_col, reload_col = st.columns([1, 1])
    if save_col.button(
        "Save", type="primary", disabled=bool(errors) or not changed, key="editor_save"
    ):
        try:
            save_file(config_dir, path, candidate_file, expected_hash=opened["hash"])
        except ConflictError as conflict:
            st.error(
                f"{path.name} was changed by someone else since you opened it, so your edit was "
                "not saved. Their changes are shown below; reload to start from their version."
            )
            st.code(
                unified_diff(
                    opened["file_text"],
                    conflict.current_text,
                    path.name,
                    before_label="when you opened it",
                    after_label="on disk now",
                ),
                language="diff",
            )
        except InvalidDefinitionError as invalid:
            st.error("Not saved: the definition has errors.")
            show_issues(invalid.issues, opened["start"])
        else:
            audit.record(
                who, "save_definition", str(path.relative_to(config_dir.parent)), metric=metric_id
            )
            st.session_state["editor_reload"] = True
            st.success(
                "Saved. The previous version is kept in the history; the board now uses the "
                "new one."
            )
    if reload_col.button("Reload from disk", key="editor_reload_button"):
        st.session_state["editor_reload"] = True
        st.rerun()

with new_tab:
    st.caption("Pick a source, columns and a measure to get a valid starting definition.")
    source_id = st.selectbox(
        "Source",
        list(catalogue.sources),
        format_func=lambda s: catalogue.sources[s].title,
        key="new_source",
    )
    source = catalogue.sources[source_id]
    measure = st.selectbox(
        "Measure", ["count", "sum", "mean", "median", "p90", "ratio", "rate"], key="new_measure"
    )
    numeric = [c for c, d in source.columns.items() if d.type.value in {"integer", "number"}]
    categories = [
        c for c, d in source.columns.items() if d.type.value in {"category", "string", "boolean"}
    ]
    dates = [c for c, d in source.columns.items() if d.type.value == "date"]
    title = st.text_input("Title", value="New metric", key="new_title")
    left, right = st.columns(2)
    domain = left.selectbox(
        "Domain",
        list(catalogue.domains),
        format_func=lambda d: catalogue.domains[d].title,
        key="new_domain",
    )
    date = left.selectbox("Date column", dates or [source.date_column], key="new_date")
    value = left.selectbox(
        "Value column",
        numeric or ["(none)"],
        key="new_value",
        disabled=measure in {"count", "ratio", "rate"},
    )
    row_filter = right.text_input(
        "Filter (SQL, optional)", key="new_filter", placeholder="pathway = 'secondary'"
    )
    numerator = right.text_input(
        "Numerator condition (ratio)", key="new_numerator", disabled=measure != "ratio"
    )
    better = right.selectbox("Better when", ["up", "down", "neutral"], key="new_better")
    unit = right.text_input("Unit", value="people", key="new_unit")
    breakdowns = st.multiselect("Breakdowns", categories, key="new_breakdowns")
    file_names = [p.name for p in metric_files(config_dir)]
    default_file = f"{domain}.yaml"
    target_file = st.selectbox(
        "Save into",
        file_names,
        index=file_names.index(default_file) if default_file in file_names else 0,
        key="new_file",
    )
    new_id = slug(title, set(catalogue.metrics))
    item = new_metric_item(
        metric_id=new_id,
        title=title,
        domain=domain,
        source=source_id,
        measure=measure,
        unit=unit,
        better=better,
        date=None if date == source.date_column else date,
        value=None if value == "(none)" else value,
        filter=row_filter or None,
        numerator_filter=numerator or None,
        breakdowns=breakdowns,
    )
    new_text = st.text_area(
        "Generated YAML (you can edit it)",
        value=item,
        height=320,
        key=f"new_yaml_{new_id}_{measure}",
    )
    target = config_dir / "metrics" / target_file
    original = target.read_text(encoding="utf-8") if target.exists() else ""
    candidate_file = append_item(original, new_text)
    loaded, issues = validate_candidate(config_dir, target, candidate_file)
    if not issues:
        st.success("Valid: no problems found.")
    show_issues(issues, len(original.splitlines()) + 2)
    with st.expander(
        "Preview with the current data", expanded=not [i for i in issues if i.is_error]
    ):
        preview_metric(board, loaded, new_id, filters)
    if st.button(
        "Save new metric", type="primary", disabled=any(i.is_error for i in issues), key="new_save"
    ):
        try:
            save_file(config_dir, target, candidate_file, expected_hash=text_hash(original))
        except (ConflictError, InvalidDefinitionError) as problem:
            st.error(f"Not saved: {problem}")
        else:
            audit.record(
                who, "create_definition", str(target.relative_to(config_dir.parent)), metric=new_id
            )
            st.success(f"Saved '{new_id}' as a draft in {target_file}.")

with history_tab:
    files = metric_files(config_dir)
    chosen = st.selectbox("File", [p.name for p in files], key="history_file")
    path = config_dir / "metrics" / chosen
    versions = history(config_dir, path)
    if not versions:
        st.info("No earlier versions of this file have been saved from the site yet.")
    else:
        version = st.selectbox(
            "Earlier version", versions, format_func=lambda v: v.label, key="history_version"
        )
        current = path.read_text(encoding="utf-8")
        st.code(
            unified_diff(
                current,
                version.path.read_text(encoding="utf-8"),
                chosen,
                before_label="now",
                after_label=version.label,
            )
            or "identical to the current file",
            language="diff",
        )
        if st.button("Restore this version", key="history_restore"):
            try:
                restore(config_dir, path, version, expected_hash=text_hash(current))
            except (ConflictError, InvalidDefinitionError) as problem:
                st.error(f"Not restored: {problem}")
            else:
                audit.record(
                    who,
                    "restore_definition",
                    str(path.relative_to(config_dir.parent)),
                    version=version.label,
                )
                st.session_state["editor_reload"] = True
                st.success("Restored. The version it replaced is kept in the history too.")
