"""Plain-text tables and number formats shared by the benchmarks."""

from __future__ import annotations

from collections.abc import Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], groups: Sequence[tuple[str, int]] = ()) -> str:
    """Columns sized to fit; the first column left-aligned, the others right-aligned.

    ``groups`` optionally labels runs of columns above the header, e.g. ``[("", 1), ("1,000", 3)]``.
    """
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [row[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True))]
        return "  ".join(parts).rstrip()

    out = []
    if groups:
        labels, start = [], 0
        for label, span in groups:
            width = sum(widths[start:start + span]) + 2 * (span - 1)
            labels.append(label.center(width, "-" if label else " ") if label else " " * width)
            start += span
        out.append("  ".join(labels).rstrip())
    out.append(line(cells[0]))
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(row) for row in cells[1:])
    return "\n".join(out)


def count(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def ratio(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}x"


def seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"
