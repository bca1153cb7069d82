"""README result blocks: --write copies the products' tables, --check finds every difference."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tdpr.report.tables import BOLD_LOWER, BOLD_UPPER, write_formats

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "readme_tables.py"

# The layout tdpr.report.tables writes: table lines, a blank line, a caption paragraph.
TABLE1 = """\
| System | 2.5 kHz | 3 kHz | AVG | Params |
|:---|---:|---:|---:|---:|
| Input | 3.13 | 2.93 | 3.03 | - |
| SEANet | 1.91 | **1.76** | 1.84 | 0.5 M |
| SEANet+TD-PR | **1.86** | 1.78 | **1.82**† | 0.5 + 0.1 M |
| Demucs | 1.87 | 1.80 | 1.84† | 4.2 M |
| Ground truth | 0.00 | 0.00 | 0.00 | - |

Table 1. LSD per input bandwidth, and parameter counts (+TD-PR rows: TD-CNN + vocoder). Bold:
lowest LSD per column. LSD: |STFT|^2 with n_fft 1024; mean over 19 test clips
"""
EXTENDED = """\
| Cutoff | System | LSD | SI-SDR (dB) |
|:---|:---|---:|---:|
| all | Input | 2.80 | **15.8** |
|  | Noise fill | 2.10 | 14.0 |
|  | SEANet | **1.70** | 12.0 |
|  | SEANet+TD-PR | 1.71 | -39.2 |
|  | AudioUNet | 1.87 | 11.0 |
| 2.5 kHz | Input | 3.13 | **15.0** |
|  | Noise fill | 2.40 | 13.1 |
|  | SEANet | **1.91** | 11.5 |
|  | SEANet+TD-PR | 1.93 | -40.1 |
|  | AudioUNet | 2.19 | 10.2 |

Extended metrics: means over test clips; 'all' is the mean over cutoffs.
"""
TABLE1_LINES = TABLE1.split("\n\n")[0].splitlines()
EXTENDED_MARKER = (
    '<!-- results-table: tables/table_extended.md cutoff=all rows="^(Input|SEANet)" -->'
)


def load_cli():
    """tools/readme_tables.py as a module (tools/ is no package)."""
    spec = importlib.util.spec_from_file_location("readme_tables", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CLI = load_cli()


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A results folder holding the two hand-written table products."""
    folder = tmp_path / "results"
    (folder / "tables").mkdir(parents=True)
    (folder / "tables" / "table1.md").write_text(TABLE1, encoding="utf-8")
    (folder / "tables" / "table_extended.md").write_text(EXTENDED, encoding="utf-8")
    return folder


def readme_with(tmp_path: Path, *blocks: str, between: str = "\nSome text.\n\n") -> Path:
    """A README holding ``blocks`` (marker, lines, closing marker), with prose around them."""
    path = tmp_path / "README.md"
    path.write_text("# Title\n\n" + between.join(blocks) + "\nThe end.\n", encoding="utf-8")
    return path


def block(marker: str, *lines: str) -> str:
    return "\n".join([marker, *lines, "<!-- /results-table -->"]) + "\n"


def run(readme: Path, results: Path, *args: str) -> int:
    return CLI.main(["--readme", str(readme), "--results", str(results), *args])


def written(tmp_path: Path, results: Path) -> Path:
    """A README whose Table 1 block was filled by --write."""
    readme = readme_with(tmp_path, block("<!-- results-table: tables/table1.md -->"))
    assert run(readme, results, "--write") == 0
    return readme


def edit(readme: Path, old: str, new: str) -> None:
    text = readme.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    readme.write_text(text.replace(old, new), encoding="utf-8")


def test_write_then_check_round_trips(tmp_path, results, capsys):
    readme = written(tmp_path, results)
    lines = readme.read_text(encoding="utf-8").splitlines()
    start = lines.index("<!-- results-table: tables/table1.md -->")
    # Only the table lines go in: no caption, no blank line.
    assert lines[start + 1 : lines.index("<!-- /results-table -->")] == TABLE1_LINES
    capsys.readouterr()
    assert run(readme, results, "--check") == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "1 blocks checked, 25 cells compared (15 numeric); largest absolute difference 0; "
        "0 differences beyond tolerance 0, 0 warnings"
    ]


def test_write_keeps_other_bytes_and_is_atomic(tmp_path, results):
    fenced = (
        "```markdown\n<!-- results-table: tables/missing.md -->\n```\n"  # an example, not a block
    )
    head = "# Title\r\nCRLF line, trailing spaces   \n\n" + fenced + "\nπ ≈ 3.14\n"
    middle = "\n\tbetween the blocks \u2028 still one line\n\n"
    tail = "\nno newline at the end"
    blocks = [
        "<!-- results-table: tables/table1.md -->\n| stale | table |\n|---|---|\n",
        EXTENDED_MARKER + "\n",
    ]
    closing = "<!-- /results-table -->\n"
    original = head + blocks[0] + closing + middle + blocks[1] + closing + tail
    readme = tmp_path / "README.md"
    readme.write_bytes(original.encode("utf-8"))
    assert run(readme, results, "--write") == 0
    text = readme.read_bytes().decode("utf-8")
    first = text.index(closing)
    second = text.index(closing, first + 1)
    assert text.startswith(head + blocks[0].splitlines(keepends=True)[0])
    assert text[first : text.index(EXTENDED_MARKER)] == closing + middle
    assert text[second:] == closing + tail
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "results"]  # no temp file
    before = readme.stat().st_mtime_ns
    assert run(readme, results, "--write") == 0
    assert readme.read_bytes().decode("utf-8") == text  # idempotent, and not rewritten
    assert readme.stat().st_mtime_ns == before


def test_crlf_readme_gets_crlf_table_lines(tmp_path, results):
    readme = tmp_path / "README.md"
    readme.write_bytes(
        b"x\r\n<!-- results-table: tables/table1.md -->\r\n<!-- /results-table -->\r\n"
    )
    assert run(readme, results, "--write") == 0
    data = readme.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n") == 3 + len(TABLE1_LINES)


@pytest.mark.parametrize(("tolerance", "status"), [("0.02", 0), ("0.01", 0), ("0.005", 1)])
def test_a_change_of_001_against_the_tolerance(tmp_path, results, capsys, tolerance, status):
    """Inclusive: 1.92 - 1.91 is 0.010000000000000009 in floats, and passes a tolerance of 0.01."""
    readme = written(tmp_path, results)
    edit(readme, "| SEANet | 1.91 |", "| SEANet | 1.92 |")
    capsys.readouterr()
    assert run(readme, results, "--check", "--tolerance", tolerance) == status
    out = capsys.readouterr().out.splitlines()
    assert "largest absolute difference 0.01 at tables/table1.md" in out[-1]
    assert "row 'SEANet', column '2.5 kHz'" in out[-1]
    if status:
        assert out[:-1] == [
            "tables/table1.md (README.md:3): row 'SEANet', column '2.5 kHz': README '1.92', "
            f"results '1.91' (difference 0.01 > {tolerance})"
        ]


def test_negative_numbers_and_large_differences(tmp_path, results, capsys):
    readme = readme_with(tmp_path, block(EXTENDED_MARKER))
    assert run(readme, results, "--write") == 0
    edit(readme, "-39.2", "39.2")
    assert run(readme, results, "--check", "--tolerance", "1") == 1
    assert "README '39.2', results '-39.2' (difference 78.4 > 1)" in capsys.readouterr().out


def test_bold_or_mark_flip_warns_when_the_column_moved(tmp_path, results, capsys):
    readme = written(tmp_path, results)
    # 1.76 -> 1.77 loses the bold, which moves to SEANet+TD-PR's 1.78 -> 1.77 (a new tie).
    edit(readme, "| **1.76** |", "| 1.77 |")
    edit(readme, "| **1.86** | 1.78 |", "| **1.86** | **1.77** |")
    edit(readme, "| 1.84† |", "| 1.85 |")
    capsys.readouterr()
    assert run(readme, results, "--check", "--tolerance", "0.02") == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4 and all(line.startswith("warning: ") for line in out[:3])
    assert "row 'SEANet', column '3 kHz': README '1.77', results '**1.76**' (bold differs" in out[0]
    assert "row 'SEANet+TD-PR', column '3 kHz'" in out[1]
    assert "column 'AVG': README '1.85', results '1.84†' (mark † differs" in out[2]
    assert out[3].endswith("0 differences beyond tolerance 0.02, 3 warnings")


@pytest.mark.parametrize(
    ("old", "new", "what"), [("**1.76**", "1.76", "bold"), ("1.84†", "1.84", "mark †")]
)
def test_bold_or_mark_flip_fails_when_the_numbers_are_equal(
    tmp_path, results, capsys, old, new, what
):
    readme = written(tmp_path, results)
    edit(readme, f"| {old} |", f"| {new} |")
    capsys.readouterr()
    assert run(readme, results, "--check", "--tolerance", "0.02") == 1
    out = capsys.readouterr().out.splitlines()
    assert f"results '{old}' ({what} differs; the column's numbers are equal)" in out[0]


def test_text_cells_must_be_equal_whatever_the_tolerance(tmp_path, results, capsys):
    readme = written(tmp_path, results)
    edit(readme, "0.5 + 0.1 M", "0.5 + 0.2 M")
    edit(readme, "| Input | 3.13 | 2.93 | 3.03 | - |", "| Input | 3.13 | 2.93 | 3.03 | 0 |")
    capsys.readouterr()
    assert run(readme, results, "--check", "--tolerance", "100") == 1
    out = capsys.readouterr().out.splitlines()
    assert "row 'Input', column 'Params': README '0', results '-' (not the same text)" in out[0]
    assert "column 'Params': README '0.5 + 0.2 M', results '0.5 + 0.1 M'" in out[1]


def test_a_missing_row_fails(tmp_path, results, capsys):
    readme = written(tmp_path, results)
    edit(readme, "| Demucs | 1.87 | 1.80 | 1.84† | 4.2 M |\n", "")
    capsys.readouterr()
    assert run(readme, results, "--check", "--tolerance", "0.02") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "tables/table1.md (README.md:3): rows differ: README lacks row(s) ['Demucs']"


def test_rows_in_another_order_fail(tmp_path, results, capsys):
    readme = written(tmp_path, results)
    edit(readme, "| Ground truth | 0.00 | 0.00 | 0.00 | - |\n", "")
    edit(readme, "| Input |", "| Ground truth | 0.00 | 0.00 | 0.00 | - |\n| Input |")
    capsys.readouterr()
    assert run(readme, results, "--check") == 1
    assert "rows differ: rows in another order" in capsys.readouterr().out


def test_a_renamed_column_fails(tmp_path, results, capsys):
    readme = written(tmp_path, results)
    edit(readme, "| 3 kHz |", "| 3kHz |")
    capsys.readouterr()
    assert run(readme, results, "--check", "--tolerance", "0.02") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "tables/table1.md (README.md:3): header differs: README lacks column(s) ['3 kHz']; "
        "README has column(s) ['3kHz'] that the results lack"
    )


def test_a_missing_results_file_is_bad_input(tmp_path, results, capsys):
    readme = readme_with(tmp_path, block("<!-- results-table: tables/table9.md -->"))
    assert run(readme, results, "--check") == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: tables/table9.md (README.md:3): no results file ")
    assert err[0].endswith("table9.md")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no markers here\n", "README.md: no results-table blocks"),
        ("<!-- results-table: tables/table1.md -->\n", "README.md:3: the block is never closed"),
        ("<!-- /results-table -->\n", "README.md:3: a closing marker without an open block"),
        (block("<!-- results-table tables/table1.md -->"), "README.md:3: malformed marker"),
        (block("<!-- results-table: -->"), "README.md:3: the marker names no results file"),
        (block("<!-- results-table: tables/table1.md cutof=all -->"), "unknown option 'cutof'"),
        (block('<!-- results-table: tables/table1.md rows="^(In -->'), "cannot read option"),
        (block('<!-- results-table: tables/table1.md rows="^(In" -->'), "is no regex"),
        (
            block("<!-- results-table: tables/table1.md -->", "<!-- results-table: x.md -->"),
            "README.md:4: a marker inside an open block",
        ),
        (block("<!-- results-table: tables/table1.md -->"), "the block is empty (fill it with"),
        (block("<!-- results-table: tables/table1.md -->", "*TABLE1_LINES"), "holds text besides"),
    ],
)
def test_malformed_markers_are_bad_input(tmp_path, results, capsys, text, message):
    text = text.replace("*TABLE1_LINES", "\n".join(TABLE1_LINES) + "\nprose")
    readme = readme_with(tmp_path, text)
    assert run(readme, results, "--check") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert message in captured.err


def test_cutoff_and_rows_filters(tmp_path, results, capsys):
    markers = [
        EXTENDED_MARKER,
        "<!-- results-table: tables/table_extended.md cutoff='2.5 kHz' -->",
        '<!-- results-table: tables/table_extended.md rows="TD-PR" -->',
    ]
    readme = readme_with(tmp_path, *(block(m) for m in markers))
    assert run(readme, results, "--write") == 0
    tables = readme.read_text(encoding="utf-8").split("<!-- /results-table -->")
    assert tables[0].splitlines()[-5:] == [
        "| System | LSD | SI-SDR (dB) |",
        "|:---|---:|---:|",
        "| Input | 2.80 | **15.8** |",
        "| SEANet | **1.70** | 12.0 |",
        "| SEANet+TD-PR | 1.71 | -39.2 |",
    ]
    assert [line.split(" | ")[0] for line in tables[1].splitlines()[-5:]] == [
        "| Input",
        "| Noise fill",
        "| SEANet",
        "| SEANet+TD-PR",
        "| AudioUNet",
    ]
    assert "| AudioUNet | 2.19 | 10.2 |" in tables[1]
    # Without cutoff=, each kept block still names its cutoff on its first kept row.
    assert tables[2].splitlines()[-2:] == [
        "| all | SEANet+TD-PR | 1.71 | -39.2 |",
        "| 2.5 kHz | SEANet+TD-PR | 1.93 | -40.1 |",
    ]
    capsys.readouterr()
    assert run(readme, results, "--check") == 0
    assert capsys.readouterr().out.startswith("3 blocks checked, 32 cells compared (20 numeric)")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("cutoff=4kHz", "no cutoff block '4kHz' (there are 'all', '2.5 kHz')"),
        ('rows="^Demucs"', "rows='^Demucs' matches no row"),
    ],
)
def test_filters_that_select_nothing_are_bad_input(tmp_path, results, capsys, options, message):
    marker = f"<!-- results-table: tables/table_extended.md {options} -->"
    readme = readme_with(tmp_path, block(marker))
    before = readme.read_bytes()
    assert run(readme, results, "--write") == 2
    assert message in capsys.readouterr().err
    assert readme.read_bytes() == before


def test_a_cutoff_filter_needs_a_cutoff_column(tmp_path, results, capsys):
    readme = readme_with(tmp_path, block("<!-- results-table: tables/table1.md cutoff=all -->"))
    assert run(readme, results, "--write") == 2
    assert "cutoff='all' needs a first column 'Cutoff'" in capsys.readouterr().err


def test_products_of_tables_py_round_trip(tmp_path, results, capsys):
    """The real writer's output (bold by rounding, grouped cutoffs) reads back as it was written."""
    index = pd.MultiIndex.from_product([["all", "3 kHz"], ["Input", "SEANet"]])
    table = pd.DataFrame(
        {"LSD": [2.804, 1.696, 2.7, 1.6], "SI-SDR (dB)": [15.81, 12.04, float("nan"), 11.0]},
        index=index.set_names(["Cutoff", "System"]),
    )
    folder = results / "tables"
    paths = [folder / f"study.{ext}" for ext in ("csv", "md", "tex")]
    best, decimals = {"LSD": BOLD_LOWER, "SI-SDR (dB)": BOLD_UPPER}, {"LSD": 2, "SI-SDR (dB)": 1}
    write_formats(table, *paths, "Caption.", best, decimals, group_level="Cutoff")
    markers = ["<!-- results-table: tables/study.md -->"]
    markers.append('<!-- results-table: tables/study.md cutoff="3 kHz" rows=SEANet -->')
    readme = readme_with(tmp_path, *(block(m) for m in markers))
    assert run(readme, results, "--write") == 0
    text = readme.read_text(encoding="utf-8")
    assert "\n".join(paths[1].read_text(encoding="utf-8").split("\n\n")[0].splitlines()) in text
    assert (
        "| System | LSD | SI-SDR (dB) |\n|:---|---:|---:|\n| SEANet | **1.60** | **11.0** |" in text
    )
    assert run(readme, results, "--check") == 0


def test_the_script_runs_from_the_command_line(tmp_path, results):
    readme = written(tmp_path, results)
    edit(readme, "| SEANet | 1.91 |", "| SEANet | 1.93 |")
    command = [sys.executable, str(SCRIPT), "--readme", str(readme), "--results", str(results)]
    done = subprocess.run(
        [*command, "--check", "--tolerance", "0.02"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr  # 0.02 is within 0.02: inclusive
    assert "largest absolute difference 0.02 at " in done.stdout
    edit(readme, "| SEANet | 1.93 |", "| SEANet | 1.94 |")
    done = subprocess.run(
        [*command, "--check", "--tolerance", "0.02"], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "README '1.94', results '1.91' (difference 0.03 > 0.02)" in done.stdout
    done = subprocess.run([*command, "--check", "--write"], capture_output=True, text=True)
    assert done.returncode == 2 and "not allowed with argument" in done.stderr


def test_a_tolerance_of_its_own_for_the_db_columns(tmp_path):
    """SI-SDR and consistency cells move by more than the LSD between machines: --tolerance-db
    lets them, and only them, move more."""
    from tdpr.report.readme import check_blocks

    results = tmp_path / "results"
    (results / "tables").mkdir(parents=True)
    table = "| System | LSD | SI-SDR (dB) |\n|:---|---:|---:|\n| A | {lsd} | {snr} |\n"
    (results / "tables/t.md").write_text(table.format(lsd="1.00", snr="10.0"))
    readme = tmp_path / "README.md"
    marker = "<!-- results-table: tables/t.md -->\n{}<!-- /results-table -->\n"
    readme.write_text(marker.format(table.format(lsd="1.01", snr="11.5")))
    assert len(check_blocks(readme, results, 0.02).failures) == 1  # the dB cell
    assert not check_blocks(readme, results, 0.02, tolerance_db=2.0).failures
    readme.write_text(marker.format(table.format(lsd="1.05", snr="10.0")))
    assert len(check_blocks(readme, results, 0.02, tolerance_db=2.0).failures) == 1  # LSD


def test_blocks_of_two_runs_are_written_and_checked_one_run_at_a_time(tmp_path, results):
    """The demo's blocks (no run=) and another run's stand in one README: --run picks which
    are written from, and checked against, the given results folder."""
    other = tmp_path / "showcase"
    (other / "tables").mkdir(parents=True)
    (other / "tables" / "table1.md").write_text(
        TABLE1.replace("| 1.91 |", "| 0.81 |"), encoding="utf-8"
    )
    readme = readme_with(
        tmp_path,
        block("<!-- results-table: tables/table1.md -->"),
        block("<!-- results-table: tables/table1.md run=showcase -->"),
    )
    assert run(readme, results, "--write") == 0
    assert run(readme, other, "--run", "showcase", "--write") == 0
    text = readme.read_text(encoding="utf-8")
    assert text.index("| SEANet | 1.91 | **1.76**") < text.index("| SEANet | 0.81 | **1.76**")
    assert run(readme, results, "--check") == 0
    assert run(readme, other, "--check", "--run", "showcase") == 0
    assert run(readme, other, "--check") == 1  # the demo's blocks against the other run
    assert run(readme, results, "--check", "--run", "nothing") == 2
