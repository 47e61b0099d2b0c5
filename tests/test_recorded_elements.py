"""Elements recorded once per view and replayed to every later run, in any session
(metrics.ui.components.draw_recorded): a replay shows what the first run made, another
view or another board is drawn afresh, and the Overview a second reader gets is the
first reader's, element for element."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.apptest_support import run_page


def recorded_script(log_path: str, view: str, token: str) -> None:
    from pathlib import Path

    import streamlit as st

    from metrics.ui.components import draw_recorded

    class FakeBoard:
        def __init__(self, token: str) -> None:
            self.token = token

    def draw() -> None:
        with Path(log_path).open("a") as log:
            log.write(f"{view}\n")
        with st.container(key="recorded"):
            st.subheader(f"View {view}")
            st.markdown(f"Drawn for **{view}**")

    st.title("Around the recording")
    with st.container(border=True):  # replayed into a container made outside
        draw_recorded("probe", FakeBoard(token), (view,), draw)
    st.caption("after")


def run(log: Path, view: str, board: str = "first") -> AppTest:
    # Streamlit's cache lasts the process: each test's boards are its own.
    token = f"{log.parent.name}-{board}"
    app = AppTest.from_function(recorded_script, args=(str(log), view, token))
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def shown(app: AppTest) -> list[str]:
    return [e.value for e in (*app.title, *app.subheader, *app.markdown, *app.caption)]


def test_a_view_is_drawn_once_and_replayed_to_every_later_session(tmp_path):
    log = tmp_path / "draws.txt"
    first = run(log, "north")
    second = run(log, "north")
    assert log.read_text().splitlines() == ["north"]
    assert shown(first) == shown(second)
    assert "View north" in shown(second) and "Drawn for **north**" in shown(second)
    assert shown(second)[0] == "Around the recording" and shown(second)[-1] == "after"


def test_another_view_or_another_board_is_drawn_afresh(tmp_path):
    log = tmp_path / "draws.txt"
    run(log, "north")
    south = run(log, "south")
    run(log, "north", board="second")  # a reload's new board
    assert log.read_text().splitlines() == ["north", "south", "north"]
    assert "View south" in shown(south) and "View north" not in shown(south)


def _elements(app: AppTest) -> list[tuple[str, object]]:
    kinds = ("subheader", "caption", "dataframe", "markdown", "title")
    out = []
    for kind in kinds:
        for element in getattr(app, kind):
            value = element.value
            out.append((kind, value.to_csv() if hasattr(value, "to_csv") else value))
    return out


def test_two_readers_of_the_overview_get_the_same_elements():
    first = run_page("pages/overview.py")
    second = run_page("pages/overview.py")
    assert len(first.dataframe) >= 4
    assert _elements(first) == _elements(second)


def test_a_neighbourhood_gets_its_own_overview_tables():
    borough = run_page("pages/overview.py")
    north = run_page("pages/overview.py", lcn="North")
    assert [d.value.to_csv() for d in borough.dataframe] != [
        d.value.to_csv() for d in north.dataframe
    ]
