"""CSV and Excel writers shared by `kadam export` and the dashboard's downloads.

Rows come in as an iterable (streamed from storage.exports) and go out as they come, so a
state's 100,000 rows never sit in memory. Both writers guard against formula injection: a school
or person named "=HYPERLINK(...)" in the roster is text in the sheet, never a formula to run.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

CSV_ROWS_PER_CHUNK = 1000  # rows buffered before a chunk of CSV text is handed on
# Excel and LibreOffice run a CSV cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# ... except a plain number, like an E.164 phone "+919822012345": that is no formula, and a
# quote in front of it would only spoil the phone number.
PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


class Counter:
    """Passes rows through, counting them (the CLI reports how many it wrote)."""

    def __init__(self, rows: Iterable[tuple[Any, ...]]):
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for row in self.rows:
            self.count += 1
            yield row


def csv_safe(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, made inert by a leading quote."""
    if (isinstance(value, str) and value.startswith(FORMULA_STARTS)
            and not PLAIN_NUMBER.fullmatch(value)):
        return "'" + value
    return value


def csv_chunks(rows: Iterable[tuple[Any, ...]], columns: Sequence[str], *, guard: bool = True,
               lineterminator: str = "\r\n",
               rows_per_chunk: int = CSV_ROWS_PER_CHUNK) -> Iterator[str]:
    """The CSV text of the header and rows, a chunk of rows at a time (no byte-order mark)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=lineterminator)
    writer.writerow(columns)
    pending = 0
    for row in rows:
        writer.writerow([csv_safe(value) for value in row] if guard else row)
        pending += 1
        if pending == rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


def write_csv(rows: Iterable[tuple[Any, ...]], columns: Sequence[str], path: Path, *,
              guard: bool = True) -> int:
    """A CSV file for Excel: with the formula guard (unless `guard` is off), and a byte-order
    mark (utf-8-sig), which is what makes Excel read Devanagari names correctly. Returns the
    number of rows."""
    counted = Counter(rows)
    with path.open("w", newline="", encoding="utf-8-sig") as file:
        for chunk in csv_chunks(counted, columns, guard=guard):
            file.write(chunk)
    return counted.count


def write_xlsx(rows: Iterable[tuple[Any, ...]], columns: Sequence[str], target: Path | IO[bytes],
               title: str) -> int:
    """An Excel workbook of one sheet, to a path or an open binary file. Returns the rows."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)  # rows go to disk as they come, not held in memory
    sheet = workbook.create_sheet(title)
    sheet.append(list(columns))
    count = 0
    for row in rows:
        count += 1
        sheet.append([_as_text(sheet, v) if _looks_like_formula(v) else v for v in row])
    workbook.save(target)
    return count


def _looks_like_formula(value: Any) -> bool:
    # openpyxl writes a string starting with "=" as a formula; every other string is typed
    # text in an XLSX cell, which Excel never evaluates.
    return isinstance(value, str) and value.startswith("=")


def _as_text(sheet: Any, value: str) -> Any:
    """A school or person named "=..." is text from the roster, never a formula to run."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell
