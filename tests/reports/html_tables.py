"""Reading a report page's tables and links back out of its HTML, the way a person (or a CSV diff) sees them."""

import csv
import io
from html.parser import HTMLParser


class _TableReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, list]] = {}
        self.links: list[str] = []
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag == "table" and (attributes.get("id") or "").startswith("table-"):
            self._table = attributes["id"].removeprefix("table-")
            self.tables[self._table] = {"headers": [], "rows": []}
        elif self._table and tag == "thead":
            self._in_head = True
        elif self._table and tag == "tr":
            self._row = []
        elif self._row is not None and tag in ("td", "th"):
            self._cell = []
            self._empty_row = attributes.get("colspan") is not None

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            table = self.tables[self._table]
            if self._in_head:
                table["headers"] = self._row
            elif not getattr(self, "_empty_row", False):
                table["rows"].append(self._row)
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def page_tables(html: str) -> dict[str, dict[str, list]]:
    """``{table name: {"headers": [...], "rows": [[cell text, ...], ...]}}``; the "nothing to show" row left out."""
    reader = _TableReader()
    reader.feed(html)
    return reader.tables


def page_links(html: str) -> list[str]:
    reader = _TableReader()
    reader.feed(html)
    return reader.links


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"))))
