"""The status and priority maps of the importers and the tables of docs/import.md say the
same thing; an imported ticket can reach any status through allowed steps."""

from __future__ import annotations

from pathlib import Path

from proofdesk.domain.imported import PRIORITY_MAPS, STATUS_MAPS, status_path
from proofdesk.domain.tickets import TRANSITIONS, Status

DOC = Path(__file__).parents[2] / "docs" / "import.md"
COLUMNS = ("zendesk", "freshdesk", "zammad", "csv")


def _table(first_header: str) -> dict[str, dict[str, str]]:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header}"))
    rows: dict[str, dict[str, str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = dict(zip(COLUMNS, cells[1:], strict=True))
    return rows


def test_the_doc_tables_list_every_mapped_value() -> None:
    statuses = _table("ProofDesk | Zendesk (`status`)")
    priorities = _table("ProofDesk | Zendesk (`priority`)")
    for maps, table in ((STATUS_MAPS, statuses), (PRIORITY_MAPS, priorities)):
        for system, mapping in maps.items():
            for value, ours in mapping.items():
                assert f"`{value}`" in table[ours.value][system], (system, value, ours)


def test_every_status_is_reached_by_allowed_steps_from_new() -> None:
    for target in Status:
        path = status_path(Status.NEW, target)
        current = Status.NEW
        for step in path:
            assert step in TRANSITIONS[current]
            current = step
        assert current is target
