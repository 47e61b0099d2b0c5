"""Edit a metric definition safely: validate as you type (the whole configuration, not just
the edited file), preview, diff, save atomically with history, detect edits made elsewhere,
restore earlier versions, or create a new metric.

Every refused save (a conflict, errors, an edit that breaks another file, an unsafe path)
is shown calmly and written to the audit log. Deep link: ?metric=ID.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import streamlit as st

from metrics import audit
from metrics.definitions.issues import Issue
from metrics.drafting import (
    BETTER,
    MEASURES,
    NO_VALUE,
    NewMetricChoice,
    SourceColumns,
    append_item,
    draft_file,
    draft_item,
)
from metrics.editing import (
    BreaksOtherFilesError,
    BusyError,
    CandidateCheck,
    ConflictError,
    InvalidDefinitionError,
    SaveRefused,
    SaveResult,
    UnsafePathError,
    checked_path,
    display_path,
    edited_metric_id,
    history,
    locate_metric,
    metric_files,
    replace_lines,
    restore,
    save_file,
    text_hash,
    unified_diff,
    validate_candidate,
)
from metrics.ui.components import plain
from metrics.ui.preview import preview_edit, preview_metric
from metrics.ui.state import analyst_notice, page_context, url_param

state, filters = page_context()
who = st.session_state["identity"].who if "identity" in st.session_state else "unknown"
board = state.board
catalogue = board.catalogue
config_dir = catalogue.config_dir

st.title("Edit metric definitions")
analyst_notice()
# YAML reads best in a fixed-width font (indentation lines up); system fonts only.
st.markdown(
    "<style>.st-key-editor_text textarea, [class*='st-key-new_yaml'] textarea "
    "{font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', "
    "'DejaVu Sans Mono', monospace; font-size: 0.9rem;}</style>",
    unsafe_allow_html=True,
)

edit_tab, new_tab, history_tab = st.tabs(["Edit a metric", "New metric", "History and restore"])

LAST_GOOD = "the board keeps serving the last good version until"


def show_issues(issues: Sequence[Issue], first_line: int = 1, edited: str | None = None) -> None:
    """Each issue on its own line; lines in the edited file are also given as lines of the
    edit. Issue text quotes configuration, so it is escaped (never read as Markdown)."""
    for issue in issues:
        mine = edited is None or issue.file == edited
        where = (
            f"line {issue.line - first_line + 1} of your edit"
            if mine and issue.line >= first_line
            else ""
        )
        text = plain(issue.format_text()) + (f"  [{where}]" if where else "")
        (st.error if issue.is_error else st.warning)(text)


def files_of(issues: Sequence[Issue]) -> str:
    return ", ".join(sorted({issue.file for issue in issues}))


def show_check(check: CandidateCheck, first_line: int) -> None:
    """The edited file's own issues, then what the edit would break elsewhere."""
    if not check.issues:
        st.success("Valid: no problems found.")
    show_issues(check.own, first_line, check.edited)
    if check.caused_errors:
        st.error(
            f"This edit would break {plain(files_of(check.caused_errors))}: if it were saved, "
            f"{LAST_GOOD} that is fixed. Change the edit, or fix the other file first."
        )
    elif check.caused:
        st.warning(f"This edit brings new warnings in {plain(files_of(check.caused))}:")
    show_issues(check.caused, first_line, check.edited)
    already = [i for i in check.before if i.is_error]
    if already:
        st.info(
            f"{plain(files_of(already))} already had errors before this edit, so {LAST_GOOD} "
            "they are fixed. They do not stop you saving this file."
        )


def refused(
    problem: Exception,
    action: str,
    path: Path,
    first_line: int,
    *,
    diff_follows: bool = False,
    **details: object,
) -> None:
    """Tell the analyst calmly why nothing was saved, and write it to the audit log."""
    reason = problem.reason if isinstance(problem, SaveRefused) else "write_failed"
    issues = getattr(problem, "issues", [])
    audit.record(
        who,
        "save_refused",
        display_path(config_dir, path),
        attempted=action,
        reason=reason,
        problems=[i.format_text() for i in issues[:20]] or None,
        error=None if isinstance(problem, SaveRefused) else repr(problem)[:300],
        **details,
    )
    name = plain(path.name)
    if isinstance(problem, ConflictError):
        st.error(
            f"{name} was changed by someone else since you opened it, so your edit was "
            "not saved. "
            + (
                "Their changes are shown below; reload to start from their version."
                if diff_follows
                else "Reload the page to start from their version."
            )
        )
    elif isinstance(problem, BreaksOtherFilesError):
        st.error(
            f"Not saved: this edit would make {plain(files_of(issues))} invalid. Change the "
            "edit or fix the other file first"
            + (", or tick 'Save anyway'." if action == "save_definition" else ".")
        )
        show_issues(issues, first_line, display_path(config_dir, path))
    elif isinstance(problem, InvalidDefinitionError):
        st.error("Not saved: the definition has errors.")
        show_issues(issues, first_line)
    elif isinstance(problem, UnsafePathError | BusyError):
        st.error(f"Not saved: {plain(str(problem))}.")
    else:  # the disk is full, a permission is missing: the details go to the audit log
        st.error(
            f"Not saved: the server could not write {name} ({type(problem).__name__}). "
            "Nothing was changed; the details are in the audit log."
        )


def attempt(
    action: str,
    path: Path,
    first_line: int,
    save: Callable[[], SaveResult],
    *,
    diff_follows: bool = False,
    **details: object,
) -> tuple[SaveResult | None, Exception | None]:
    """Run `save`; on success write the audit entry, on refusal explain and audit it."""
    try:
        result = save()
    except (SaveRefused, OSError) as problem:
        refused(problem, action, path, first_line, diff_follows=diff_follows, **details)
        return None, problem
    broke = files_of(result.broke_elsewhere)
    audit.record(who, action, display_path(config_dir, path), broke=broke or None, **details)
    return result, None


def saved_message(result: SaveResult, what: str) -> str:
    """Say plainly whether the board now serves the edit or keeps the last good version."""
    if result.broke_elsewhere:
        return (
            f"{what} anyway, but {files_of(result.broke_elsewhere)} is now invalid, so "
            f"{LAST_GOOD} it is fixed. The previous version is kept in the history."
        )
    if not result.check.serves:
        return (
            f"{what}. The previous version is kept in the history. Other files already had "
            f"errors ({files_of([i for i in result.check.before if i.is_error])}), so "
            f"{LAST_GOOD} they are fixed."
        )
    return (
        f"{what}. The previous version is kept in the history; the board serves the new one "
        "as soon as it has reloaded (a few seconds)."
    )


def unsafe(path: Path) -> UnsafePathError | None:
    try:
        checked_path(config_dir, path)
    except UnsafePathError as problem:
        return problem
    return None


def edit_a_metric() -> None:
    ids = list(catalogue.metrics)
    # After a rename, open the metric under its new id once the board serves it (it
    # reloads in a moment, or not at all while another file is broken); forget it if the
    # analyst picks another metric meanwhile.
    renamed = st.session_state.get("editor_renamed")
    if renamed is not None:
        if renamed["to"] in ids:
            st.session_state["editor_metric"] = renamed["to"]
            del st.session_state["editor_renamed"]
        elif st.session_state.get("editor_metric") not in (renamed["from"], None):
            del st.session_state["editor_renamed"]
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
    flash = st.session_state.pop("editor_flash", None)
    if flash is not None:  # said after the rerun that follows a save (the diff is gone)
        (st.warning if flash[0] == "warning" else st.success)(flash[1])
    if (
        opened is None
        or opened["metric"] != metric_id
        or st.session_state.pop("editor_reload", False)
    ):
        # A metric made by for_each is edited through its definition.
        location = locate_metric(config_dir, catalogue.expanded_from.get(metric_id, metric_id))
        if location is None:
            st.error(
                f"The definition of '{plain(metric_id)}' was not found in config/metrics/ "
                "(it may have been renamed or removed since the board last loaded)."
            )
            return
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
    path = Path(opened["path"])
    st.caption(
        f"{plain(display_path(config_dir, path))}, lines {opened['start']} to {opened['end']}."
    )
    problem = unsafe(path)
    if problem is not None:
        st.error(f"This file cannot be saved from the site: {plain(str(problem))}.")
    edited = st.text_area("YAML", key="editor_text", height=420, help="Ctrl+Enter checks the edit.")
    candidate_file = replace_lines(opened["file_text"], opened["start"], opened["end"], edited)
    check = validate_candidate(config_dir, path, candidate_file)
    show_check(check, opened["start"])

    changed = edited != opened["item"]
    if changed:
        with st.expander("Changes (diff)", expanded=True):
            st.code(
                unified_diff(opened["item"], edited, path.name) or "no changes", language="diff"
            )
    with st.expander("Preview with the current data", expanded=changed and not check.errors):
        preview_edit(board, check.loaded, edited, metric_id, filters)

    insist = False
    if check.caused_errors and not check.errors:
        insist = st.checkbox(
            f"Save anyway: I will fix {plain(files_of(check.caused_errors))} next "
            f"(until then {LAST_GOOD} it is fixed)",
            key="editor_insist",
        )
    blocked = bool(check.errors) or (bool(check.caused_errors) and not insist)
    save_col, reload_col = st.columns([1, 1])
    if save_col.button(
        "Save",
        type="primary",
        disabled=blocked or not changed or problem is not None,
        key="editor_save",
    ):
        result, failure = attempt(
            "save_definition",
            path,
            opened["start"],
            lambda: save_file(
                config_dir,
                path,
                candidate_file,
                expected_hash=opened["hash"],
                allow_breaking_others=insist,
            ),
            diff_follows=True,
            metric=metric_id,
        )
        if isinstance(failure, ConflictError):
            st.code(
                unified_diff(
                    opened["file_text"],
                    failure.current_text,
                    path.name,
                    before_label="when you opened it",
                    after_label="on disk now",
                ),
                language="diff",
            )
        if result is not None:
            st.session_state["editor_reload"] = True
            new_id = edited_metric_id(edited)
            if new_id and new_id != metric_id:
                st.session_state["editor_renamed"] = {"from": metric_id, "to": new_id}
            # Start again from the file as saved: the edit box holds it and the diff is gone.
            st.session_state["editor_flash"] = (
                "warning" if result.broke_elsewhere else "success",
                plain(saved_message(result, "Saved")),
            )
            st.rerun()
    if reload_col.button("Reload from disk", key="editor_reload_button"):
        st.session_state["editor_reload"] = True
        st.rerun()


def new_metric() -> None:
    st.caption("Pick a source, columns and a measure to get a valid starting definition.")
    # The widgets open on NewMetricChoice.default (the first of each list), which the
    # server's start-up warm drafts and checks too.
    source_id = st.selectbox(
        "Source",
        list(catalogue.sources),
        format_func=lambda s: catalogue.sources[s].title,
        key="new_source",
    )
    source = catalogue.sources[source_id]
    measure = st.selectbox("Measure", MEASURES, key="new_measure")
    columns = SourceColumns.of(source)
    title = st.text_input("Title", value=NewMetricChoice.title, key="new_title")
    left, right = st.columns(2)
    domain = left.selectbox(
        "Domain",
        list(catalogue.domains),
        format_func=lambda d: catalogue.domains[d].title,
        key="new_domain",
    )
    date = left.selectbox("Date column", columns.dates, key="new_date")
    value = left.selectbox(
        "Value column",
        columns.numeric or [NO_VALUE],
        key="new_value",
        disabled=measure in {"count", "ratio", "rate"},
    )
    row_filter = right.text_input(
        "Filter (SQL, optional)", key="new_filter", placeholder="pathway = 'secondary'"
    )
    numerator = right.text_input(
        "Numerator condition (ratio)", key="new_numerator", disabled=measure != "ratio"
    )
    numerator_value = denominator_value = None
    denominator = ""
    if measure == "ratio":
        # Each part counts its rows, or sums a column: a ratio of sums (breaches out of
        # attendances, from a monthly extract) picks a column for each.
        count_rows = "(count rows)"
        top, bottom = st.columns(2)
        picked_top = top.selectbox(
            "Numerator: sum of", [count_rows, *columns.numeric], key="new_numerator_value"
        )
        picked_bottom = bottom.selectbox(
            "Denominator: sum of", [count_rows, *columns.numeric], key="new_denominator_value"
        )
        denominator = bottom.text_input(
            "Denominator condition (optional)",
            key="new_denominator",
            placeholder="accepted IS NOT NULL",
        )
        numerator_value = None if picked_top == count_rows else picked_top
        denominator_value = None if picked_bottom == count_rows else picked_bottom
    better = right.selectbox("Better when", BETTER, key="new_better")
    unit = right.text_input("Unit", value=NewMetricChoice.unit, key="new_unit")
    breakdowns = st.multiselect("Breakdowns", columns.categories, key="new_breakdowns")
    file_names = [p.name for p in metric_files(config_dir)]
    default_file = draft_file(config_dir, domain)
    target_file = st.selectbox(
        "Save into",
        file_names,
        index=file_names.index(default_file) if default_file in file_names else 0,
        key="new_file",
    )
    new_id, item = draft_item(
        catalogue,
        NewMetricChoice(
            source=source_id,
            domain=domain,
            date=date,
            measure=measure,
            title=title,
            value=value,
            filter=row_filter,
            numerator=numerator,
            better=better,
            unit=unit,
            breakdowns=tuple(breakdowns),
            numerator_value=numerator_value,
            denominator=denominator,
            denominator_value=denominator_value,
        ),
    )
    new_text = st.text_area(
        "Generated YAML (you can edit it)",
        value=item,
        height=320,
        key=f"new_yaml_{new_id}_{measure}_{numerator_value}_{denominator_value}",
    )
    target = config_dir / "metrics" / target_file
    problem = unsafe(target)
    if problem is not None:
        st.error(f"This file cannot be saved from the site: {plain(str(problem))}.")
    original = target.read_text(encoding="utf-8") if target.exists() else ""
    candidate_file = append_item(original, new_text)
    first_line = len(original.splitlines()) + 2
    check = validate_candidate(config_dir, target, candidate_file)
    show_check(check, first_line)
    with st.expander("Preview with the current data", expanded=not check.errors):
        preview_metric(board, check.loaded, edited_metric_id(new_text) or new_id, filters)
    if st.button(
        "Save new metric",
        type="primary",
        disabled=bool(check.errors or check.caused_errors) or problem is not None,
        key="new_save",
    ):
        result, _ = attempt(
            "create_definition",
            target,
            first_line,
            lambda: save_file(
                config_dir, target, candidate_file, expected_hash=text_hash(original)
            ),
            metric=new_id,
        )
        if result is not None:
            st.success(
                plain(saved_message(result, f"Saved '{new_id}' as a draft in {target_file}"))
            )


def history_and_restore() -> None:
    files = metric_files(config_dir)
    chosen = st.selectbox("File", [p.name for p in files], key="history_file")
    if chosen is None:
        st.info("There are no metric files yet.")
        return
    path = config_dir / "metrics" / chosen
    versions = history(config_dir, path)
    if not versions:
        st.info("No earlier versions of this file have been saved from the site yet.")
        return
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
        result, _ = attempt(
            "restore_definition",
            path,
            1,
            lambda: restore(config_dir, path, version, expected_hash=text_hash(current)),
            version=version.label,
        )
        if result is not None:
            st.session_state["editor_reload"] = True
            st.success(plain(saved_message(result, "Restored")))


with edit_tab:
    edit_a_metric()

with new_tab:
    new_metric()

with history_tab:
    history_and_restore()
