"""The repository explains itself: no file points at documents outside it, every docs page is
linked from the README, the error table in docs/reference.md is the error catalogue, every code is
raised where the catalogue says (Rust, SQL or both) and nowhere else, each SQL RAISE uses its
code's SQLSTATE, and no Rust line is wider than rustfmt's width. No database needed."""
import re
import subprocess

from conftest import ROOT

WIDTH = 120
SQLSTATE_NAMES = {"insufficient_privilege": "42501"}


def tracked(*patterns):
    out = subprocess.run(["git", "ls-files", *patterns], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return [ROOT / line for line in out.splitlines() if (ROOT / line).is_file()]


def catalogue():
    """(code, SQLSTATE, raised from, meaning) in catalogue order, read from core/src/error.rs."""
    text = (ROOT / "core" / "src" / "error.rs").read_text()
    states = dict(re.findall(r'SqlState::(\w+) => "(\w+)"', text))
    body = text[text.index("catalogue! {"):]
    entries = re.findall(r'(\w+) = "([^"]+)",\s*(\w+),\s*(Rust|Sql|Both),\s*"((?:[^"\\]|\\.)*)";', body)
    return [(code, states[state], origin, meaning.replace('\\"', '"')) for _, code, state, origin, meaning in entries]


def test_no_file_points_outside_the_repository():
    forbidden = re.compile(r"\bSPEC\b|[Tt]he original\b|[Ii]ssue #?\d|issues show")
    offenders = []
    for path in tracked():
        if path.name == "test_repository.py" or path.suffix in (".lock",) or "fixtures/vectors" in str(path):
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if forbidden.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}")
    assert not offenders, "\n".join(offenders)


def test_every_docs_page_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    pages = [p.relative_to(ROOT).as_posix() for p in tracked("docs/*.md")] + ["CHANGELOG.md", "BENCHMARKS.md"]
    assert [p for p in pages if f"]({p}" not in readme] == []


def test_the_error_table_is_the_catalogue():
    codes = catalogue()
    assert len(codes) > 50
    text = (ROOT / "docs" / "reference.md").read_text()
    table = text[text.index("| code | SQLSTATE | meaning |"):].splitlines()[2:]
    rows = []
    for line in table:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append((cells[0].strip("`"), cells[1].strip("`"), "|".join(cells[2:]).strip()))
    assert rows == [(code, state, meaning) for code, state, _, meaning in codes]


def test_codes_are_raised_where_the_catalogue_says():
    rust = set()
    for path in tracked("src/*.rs", "core/src/*.rs"):
        rust |= {name.replace("_", "-", 1) for name in re.findall(r"codes::([A-Z]+_\d+)", path.read_text())}
    sql = {}
    for path in tracked("src/sql/*.sql"):
        for code, errcode in re.findall(r"RAISE EXCEPTION '\[([A-Z]+-\d+)\][^;]*?ERRCODE = '(\w+)'", path.read_text(), re.S):
            sql.setdefault(code, set()).add(SQLSTATE_NAMES.get(errcode, errcode))
    for code, state, origin, _ in codes_without_replay_suffix():
        in_rust, in_sql = code in rust, code in sql
        assert (in_rust, in_sql) == {"Rust": (True, False), "Sql": (False, True), "Both": (True, True)}[origin], code
        if in_sql:
            assert sql[code] == {state}, f"{code} is raised from SQL with {sql[code]}, catalogued {state}"
    known = {c for c, *_ in codes_without_replay_suffix()}
    assert (rust | set(sql)) - known == set()


def codes_without_replay_suffix():
    return [(code.split("@")[0], state, origin, meaning) for code, state, origin, meaning in catalogue()]


def test_no_rust_line_is_wider_than_rustfmt_allows():
    long = []
    for path in tracked("*.rs"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if len(line) > WIDTH:
                long.append(f"{path.relative_to(ROOT)}:{n} ({len(line)})")
    assert not long, "\n".join(long)
