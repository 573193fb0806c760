"""The small readers and writers the experiments and ablation studies share: result rows as csv, markdown
tables, text files (all written atomically) and the machine's load beside timings. Figures are written by
:func:`mffssim.io.save_figure`, numbers formatted by :mod:`mffssim.workflow.formatting`.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from mffssim.io import atomic_write
from mffssim.workflow.formatting import format_number


def write_rows(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike) -> None:
    """Write dicts (the first one's keys are the columns) as a csv file, atomically."""
    from mffssim.detector.evaluate import write_table  # the one csv writer of result rows

    write_table(rows, path)


def read_rows(paths: Sequence[str | os.PathLike]) -> list[dict[str, Any]]:
    """Rows of csv files written by :func:`write_rows`, numbers parsed (int, then float, else str)."""
    rows = []
    for path in paths:
        with open(path, newline="") as handle:
            rows += [{key: _parse(value) for key, value in row.items()} for row in csv.DictReader(handle)]
    return rows


def _parse(value: str):
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return None if value == "" else value


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None, *,
                   digits: Mapping[str, int] | None = None, default_digits: int = 4) -> str:
    """A markdown table of ``rows`` (floats rounded to ``digits[column]`` or ``default_digits``)."""
    if not rows:
        return "(no rows)\n"
    columns = list(columns or rows[0])
    digits = dict(digits or {})

    def cell(column: str, value) -> str:
        if isinstance(value, float):
            return format_number(value, digits.get(column, default_digits), missing="nan", infinite=True)
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(c, row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def load_average() -> float:
    """The 1-minute load average (nan where the platform has none): the caveat printed beside timings."""
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return float("nan")
