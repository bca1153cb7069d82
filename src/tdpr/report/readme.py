"""Result tables in the README: copied from the workflow's products, and checked against them.

A block in a Markdown file names a table product (a path relative to the results folder) and
holds a copy of its table lines, without the product's caption::

    <!-- results-table: tables/table_extended.md cutoff=all rows="^(Input|SEANet)" -->
    | System | LSD | ... |
    <!-- /results-table -->

:func:`write_blocks` rewrites each block from its product and :func:`check_blocks` compares
them cell by cell, so a number in the README is regenerated, never typed by hand. Options of the
opening marker: ``cutoff=VALUE`` keeps one cutoff block of a table whose first column is
``Cutoff`` (from the row whose Cutoff cell is VALUE to the next non-empty Cutoff cell) and drops
that column; ``rows=REGEX`` keeps the rows whose label (the first column other than ``Cutoff``)
matches (``re.search``); ``run=NAME`` says which workflow run the block comes from (default:
``demo``): :func:`write_blocks` and :func:`check_blocks` take the blocks of one run at a time,
so the demo's and the showcase's tables can stand in one README. Values with spaces are quoted
with ``"`` or ``'``. A marker stands alone
on its line; markers inside fenced code are text, not blocks.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tdpr.fsio import write_bytes_atomic

CUTOFF = "Cutoff"
OPTIONS = ("cutoff", "rows", "run")
#: the run of a block without ``run=``
DEFAULT_RUN = "demo"
#: Slack for float parsing: 1.63 - 1.62 is 0.010000000000000009, which must pass a 0.01 tolerance.
EPSILON = 1e-9
BOLD, MARK = "**", "†"
SYNTAX = "'<!-- results-table: PATH [cutoff=VALUE] [rows=REGEX] -->' ... '<!-- /results-table -->'"

_ANY_MARKER = re.compile(r"<!--\s*/?\s*results-table\b")
_OPEN = re.compile(r"<!--\s*results-table:(?P<spec>.*?)-->")
_CLOSE = re.compile(r"<!--\s*/results-table\s*-->")
_OPTION = re.compile(r"""\s*(\w+)=(?:"([^"]*)"|'([^']*)'|([^\s"']+))(?=\s|$)""")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_RULE_CELL = re.compile(r":?-+:?")
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")


class ReadmeTablesError(ValueError):
    """Bad input: a missing file, a malformed marker or table, no markers at all."""


@dataclass(frozen=True)
class Table:
    """A Markdown table as stripped cell text: header titles, rule cells and rows."""

    header: tuple[str, ...]
    rule: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def lines(self) -> list[str]:
        """The table as Markdown lines, laid out as :mod:`tdpr.report.tables` writes them."""
        out = ["| " + " | ".join(self.header) + " |", "|" + "|".join(self.rule) + "|"]
        return out + ["| " + " | ".join(row) + " |" for row in self.rows]

    def label_column(self) -> int:
        """Index of the row labels: the first column other than ``Cutoff``."""
        return 1 if len(self.header) > 1 and self.header[0] == CUTOFF else 0

    def row_names(self) -> list[str]:
        """Each row's label, prefixed by its cutoff block (``"2.5 kHz / SEANet"``) where shown."""
        col, block, names = self.label_column(), "", []
        for row in self.rows:
            block = row[0] or block
            names.append(f"{block} / {row[col]}" if col else row[0])
        return names


@dataclass(frozen=True)
class Block:
    """A marked block: its product, filters, and the 0-based lines of its two markers."""

    path: str
    cutoff: str | None
    rows: re.Pattern | None
    start: int
    end: int
    source: str
    run: str = DEFAULT_RUN

    @property
    def name(self) -> str:
        """How messages name the block: ``tables/table1.md (README.md:52)``."""
        return f"{self.path} ({self.source}:{self.start + 1})"


@dataclass
class CheckReport:
    """What :func:`check_blocks` found: failures and warnings (one line each) and the counts."""

    tolerance: float
    #: tolerance of the columns whose title says "(dB)" (None: ``tolerance`` for them too)
    tolerance_db: float | None = None
    blocks: int = 0
    cells: int = 0
    numeric: int = 0
    largest: float = 0.0
    largest_at: str = ""
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: blocks, cells, the largest absolute difference and where, the verdict."""
        at = f" at {self.largest_at}" if self.largest_at else ""
        return (
            f"{self.blocks} blocks checked, {self.cells} cells compared ({self.numeric} numeric); "
            f"largest absolute difference {self.largest:.4g}{at}; {len(self.failures)} "
            f"differences beyond tolerance {self.tolerance:g}, {len(self.warnings)} warnings"
        )


# ---- reading ----------------------------------------------------------------------------------


def split_lines(text: str) -> list[str]:
    """Lines with their endings; only ``\\n`` ends a line, so ``"".join`` restores ``text``."""
    return re.findall(r"[^\n]*\n|[^\n]+\Z", text)


def _cells(line: str) -> tuple[str, ...]:
    text = line.strip().removeprefix("|")
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    return tuple(cell.strip() for cell in re.split(r"(?<!\\)\|", text))


def leading_table(lines: list[str]) -> list[str]:
    """The pipe lines at the start of ``lines`` (after blank lines), up to the first other line."""
    lines = lines[next((i for i, line in enumerate(lines) if line.strip()), len(lines)) :]
    end = next((i for i, line in enumerate(lines) if not line.lstrip().startswith("|")), None)
    return lines[:end]


def parse_table(lines: list[str], source: str) -> Table:
    """Parse Markdown table lines (header, rule, rows) into a :class:`Table`.

    Raises:
        ReadmeTablesError: no header and rule line, or a line with another number of cells.
    """
    cells = [_cells(line) for line in lines]
    if len(cells) < 2 or not all(_RULE_CELL.fullmatch(c) for c in cells[1]):
        raise ReadmeTablesError(f"{source}: no Markdown table (a header and a rule line) found")
    for number, row in enumerate(cells[1:], start=2):
        if len(row) != len(cells[0]):
            raise ReadmeTablesError(
                f"{source}: table line {number} has {len(row)} cells, its header {len(cells[0])}"
            )
    return Table(cells[0], cells[1], tuple(cells[2:]))


def _parse_spec(spec: str, where: str) -> dict:
    """``PATH [key=value]...`` of an opening marker -> ``path``, ``cutoff``, ``rows``."""
    path, _, rest = spec.strip().partition(" ")
    if not path or "=" in path:
        raise ReadmeTablesError(f"{where}: the marker names no results file; expected {SYNTAX}")
    options, pos = {}, 0
    while rest[pos:].strip():
        match = _OPTION.match(rest, pos)
        if match is None:
            raise ReadmeTablesError(f"{where}: cannot read option {rest[pos:].strip()!r}")
        key, value = match[1], next(v for v in match.groups()[1:] if v is not None)
        if key not in OPTIONS or key in options or not value:
            problem = "an unknown" if key not in OPTIONS else "a repeated or empty"
            raise ReadmeTablesError(f"{where}: {problem} option {key!r} (known: {OPTIONS})")
        options[key], pos = value, match.end()
    try:
        rows = re.compile(options["rows"]) if "rows" in options else None
    except re.error as err:
        raise ReadmeTablesError(f"{where}: rows={options['rows']!r} is no regex: {err}") from None
    run = options.get("run", DEFAULT_RUN)
    return {"path": path, "cutoff": options.get("cutoff"), "rows": rows, "run": run}


def _fence(line: str, fence: str | None) -> str | None:
    """The open code fence after ``line`` (``None``: outside fenced code)."""
    match = _FENCE.match(line)
    if match is None:
        return fence
    if fence is None:
        return match[1]
    return None if match[1][0] == fence[0] and len(match[1]) >= len(fence) else fence


def find_blocks(lines: list[str], source: str) -> list[Block]:
    """The marked blocks of a Markdown file's ``lines`` (without line endings).

    Raises:
        ReadmeTablesError: a malformed, unclosed, nested or stray marker, or no marker at all.
    """
    blocks, opened, fence = [], None, None
    for i, line in enumerate(lines):
        fence, text, where = _fence(line, fence), line.strip(), f"{source}:{i + 1}"
        if fence is not None or not _ANY_MARKER.match(text):
            continue
        close, match = _CLOSE.fullmatch(text), _OPEN.fullmatch(text)
        if close and opened is not None:
            blocks.append(Block(**opened, end=i, source=source))
            opened = None
        elif match and opened is None:
            opened = _parse_spec(match["spec"], where) | {"start": i}
        elif close or match:
            what = "a closing marker without" if opened is None else "a marker inside"
            raise ReadmeTablesError(f"{where}: {what} an open block; expected {SYNTAX}")
        else:
            raise ReadmeTablesError(f"{where}: malformed marker {text!r}; expected {SYNTAX}")
    if opened is not None:
        raise ReadmeTablesError(f"{source}:{opened['start'] + 1}: the block is never closed")
    if not blocks:
        raise ReadmeTablesError(f"{source}: no results-table blocks; mark each table with {SYNTAX}")
    return blocks


def _read_text(path: Path, what: str) -> str:
    if not path.is_file():
        raise ReadmeTablesError(f"no {what} {path}")
    # Bytes, not read_text: universal newlines would turn CRLF into LF outside the blocks.
    return path.read_bytes().decode("utf-8")


# ---- filters and the two operations -----------------------------------------------------------


def select_cutoff(table: Table, value: str, source: str) -> Table:
    """The rows of one cutoff block, without the ``Cutoff`` column."""
    if table.label_column() != 1:
        raise ReadmeTablesError(f"{source}: cutoff={value!r} needs a first column {CUTOFF!r}")
    starts = [i for i, row in enumerate(table.rows) if row[0]]
    first = next((i for i in starts if table.rows[i][0] == value), None)
    if first is None:
        shown = ", ".join(repr(table.rows[i][0]) for i in starts)
        raise ReadmeTablesError(f"{source}: no cutoff block {value!r} (there are {shown})")
    end = next((i for i in starts if i > first), len(table.rows))
    return Table(table.header[1:], table.rule[1:], tuple(r[1:] for r in table.rows[first:end]))


def select_rows(table: Table, pattern: re.Pattern, source: str) -> Table:
    """The rows whose label matches; a kept Cutoff column names each block on its first row."""
    col, block, shown, kept = table.label_column(), "", None, []
    for row in table.rows:
        block = row[0] or block
        if not pattern.search(row[col]):
            continue
        if col:
            row, shown = (block if block != shown else "", *row[1:]), block
        kept.append(row)
    if not kept:
        raise ReadmeTablesError(f"{source}: rows={pattern.pattern!r} matches no row")
    return Table(table.header, table.rule, tuple(kept))


def results_table(results: Path, block: Block) -> Table:
    """The table of ``block``'s product under ``results``, its filters applied."""
    path = Path(results) / block.path
    if not path.is_file():
        raise ReadmeTablesError(f"{block.name}: no results file {path}")
    table = parse_table(leading_table(path.read_text(encoding="utf-8").splitlines()), str(path))
    if block.cutoff is not None:
        table = select_cutoff(table, block.cutoff, str(path))
    if block.rows is not None:
        table = select_rows(table, block.rows, str(path))
    return table


def write_blocks(
    readme: str | Path, results: str | Path, run: str = DEFAULT_RUN
) -> tuple[int, int]:
    """Rewrite every block of run ``run`` in ``readme`` from its product, atomically; other bytes
    stay as they are.

    Every product is read before anything is written, and an unchanged file is not rewritten.

    Returns:
        The number of blocks, and of blocks whose content changed.
    """
    readme = Path(readme)
    lines = split_lines(_read_text(readme, "Markdown file"))
    blocks = _of_run(find_blocks([line.rstrip("\r\n") for line in lines], readme.name), run)
    out, pos, changed = [], 0, 0
    for block in blocks:
        eol = "\r\n" if lines[block.start].endswith("\r\n") else "\n"
        new = [line + eol for line in results_table(Path(results), block).lines()]
        changed += new != lines[block.start + 1 : block.end]
        out += lines[pos : block.start + 1] + new
        pos = block.end
    if changed:
        write_bytes_atomic(readme, "".join(out + lines[pos:]).encode("utf-8"))
    return len(blocks), changed


def _of_run(blocks: list[Block], run: str) -> list[Block]:
    mine = [b for b in blocks if b.run == run]
    if not mine:
        runs = ", ".join(sorted({b.run for b in blocks}))
        raise ReadmeTablesError(f"no results-table blocks of run {run!r} (runs: {runs})")
    return mine


def check_blocks(
    readme: str | Path,
    results: str | Path,
    tolerance: float,
    tolerance_db: float | None = None,
    run: str = DEFAULT_RUN,
) -> CheckReport:
    """Compare every block of ``readme`` with its product (see :func:`compare_tables`);
    ``tolerance_db`` applies to the columns titled in dB (SI-SDR, consistency), which move by
    more than the LSD between machines.

    Raises:
        ReadmeTablesError: bad input (files, markers, a block that holds no table).
    """
    for value in (tolerance, 0.0 if tolerance_db is None else tolerance_db):
        if not value >= 0:
            raise ReadmeTablesError(f"the tolerance must be a number >= 0, not {value}")
    readme = Path(readme)
    lines = [line.rstrip("\r\n") for line in split_lines(_read_text(readme, "Markdown file"))]
    report = CheckReport(tolerance, tolerance_db)
    for block in _of_run(find_blocks(lines, readme.name), run):
        theirs = results_table(Path(results), block)
        ours = _block_table(lines[block.start + 1 : block.end], block)
        compare_tables(block.name, ours, theirs, report)
        report.blocks += 1
    return report


def _block_table(lines: list[str], block: Block) -> Table:
    body = [line for line in lines if line.strip()]
    if not body:
        raise ReadmeTablesError(f"{block.name}: the block is empty (fill it with --write)")
    table_lines = leading_table(lines)
    if len(table_lines) != len(body):
        raise ReadmeTablesError(f"{block.name}: the block holds text besides one table")
    return parse_table(table_lines, block.name)


# ---- comparison -------------------------------------------------------------------------------


def compare_tables(name: str, ours: Table, theirs: Table, report: CheckReport) -> None:
    """Compare the README's table (``ours``) with the product's (``theirs``), into ``report``.

    Headers and row labels must be equal, in order. Every cell of the rows and columns both hold
    is compared: numbers (after stripping ``**`` and ``†``) within ``report.tolerance``
    (absolute, inclusive), other text exactly; decorations as in :func:`_compare_column`.
    """
    _compare_header(name, ours.header, theirs.header, report)
    pairs = _pair_rows(name, ours, theirs, report)
    for column in [c for c in ours.header if c in theirs.header]:
        i, j = ours.header.index(column), theirs.header.index(column)
        cells = [(row, a[i], b[j]) for row, a, b in pairs]
        _compare_column(name, column, cells, report)


def _compare_header(name: str, ours: tuple, theirs: tuple, report: CheckReport) -> None:
    if ours == theirs:
        return
    missing = [c for c in theirs if c not in ours]
    extra = [c for c in ours if c not in theirs]
    parts = [f"README lacks column(s) {missing}"] if missing else []
    parts += [f"README has column(s) {extra} that the results lack"] if extra else []
    parts = parts or [f"columns in another order: README {list(ours)}, results {list(theirs)}"]
    report.failures.append(f"{name}: header differs: {'; '.join(parts)}")


def _pair_rows(name: str, ours: Table, theirs: Table, report: CheckReport) -> list[tuple]:
    """``(row name, README row, results row)`` for each row both hold; report any mismatch."""
    our_names, their_names = ours.row_names(), theirs.row_names()
    if our_names != their_names:
        missing = list((Counter(their_names) - Counter(our_names)).elements())
        extra = list((Counter(our_names) - Counter(their_names)).elements())
        parts = [f"README lacks row(s) {missing}"] if missing else []
        parts += [f"README has row(s) {extra} that the results lack"] if extra else []
        parts = parts or [f"rows in another order: README {our_names}, results {their_names}"]
        report.failures.append(f"{name}: rows differ: {'; '.join(parts)}")
    pool: dict[str, list] = {}
    for row_name, row in zip(their_names, theirs.rows, strict=True):
        pool.setdefault(row_name, []).append(row)
    return [
        (row_name, row, pool[row_name].pop(0))
        for row_name, row in zip(our_names, ours.rows, strict=True)
        if pool.get(row_name)
    ]


def _plain(text: str) -> tuple[tuple[bool, bool], float | None]:
    """A cell's (bold, mark) flags, and its number without decorations if it is one."""
    core = text.replace(BOLD, "").replace(MARK, "").strip().replace("−", "-")
    number = float(core.replace(",", "")) if _NUMBER.fullmatch(core) else None
    return (BOLD in text, MARK in text), number


def _compare_column(name: str, column: str, cells: list[tuple], report: CheckReport) -> None:
    """Compare one column's ``(row name, README cell, results cell)`` triples."""
    moved, decorated = False, []
    for row, ours, theirs in cells:
        report.cells += 1
        (our_flags, a), (their_flags, b) = _plain(ours), _plain(theirs)
        where = f"{name}: row {row!r}, column {column!r}"
        cell = f"{where}: README {ours!r}, results {theirs!r}"
        if a is None or b is None:
            if ours != theirs:
                report.failures.append(f"{cell} (not the same text)")
            continue
        report.numeric += 1
        diff = abs(a - b)
        if diff > report.largest:
            report.largest, report.largest_at = diff, where
        moved |= diff > EPSILON
        allowed = report.tolerance
        if report.tolerance_db is not None and "(dB)" in str(column):
            allowed = report.tolerance_db
        if diff > allowed + EPSILON:
            report.failures.append(f"{cell} (difference {diff:.4g} > {allowed:g})")
        elif our_flags != their_flags:
            decorated.append((cell, our_flags, their_flags))
    # Bold marks a column's best and a mark such as † is set from values too, so a within-tolerance
    # change of any number in the column (a tie broken, a value near a threshold: what another
    # machine's arithmetic moves) can flip them on cells whose own number did not change; that
    # only warns. With every number of the column equal, a changed decoration is a difference.
    for cell, our_flags, their_flags in decorated:
        which = " and ".join(
            n
            for n, x, y in zip(("bold", f"mark {MARK}"), our_flags, their_flags, strict=True)
            if x != y
        )
        verb = "differ" if " and " in which else "differs"
        if moved:
            report.warnings.append(f"{cell} ({which} {verb}; the column's numbers moved)")
        else:
            report.failures.append(f"{cell} ({which} {verb}; the column's numbers are equal)")
