#!/usr/bin/env python3
"""Assembles sql/parmana--0.3.0--0.4.0.sql while 0.4.0 is unreleased.

The upgrade is the hand-written steps in src/sql/upgrade/ (moving the extension into schema
parmana, new columns, carrying 0.3.0's configuration over) around statements taken verbatim from
the fresh-install sources in src/sql/ and from pgrx's generated definitions, so an upgraded
database gets the same objects as a fresh install. tests/python/test_upgrade.py checks exactly that.

Usage: python3 scripts/make_upgrade.py   (runs `cargo pgrx schema`; PG_CONFIG as for the build)
"""
import os
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
SQL = ROOT / "src" / "sql"
TARGET = ROOT / "sql" / "parmana--0.3.0--0.4.0.sql"
PG_CONFIG = os.environ.get("PG_CONFIG", "/usr/lib/postgresql/15/bin/pg_config")
ROLES = "PUBLIC, parmana_executor, parmana_approver, parmana_auditor, parmana_admin"


def statements(text):
    """Split SQL into statements, each with the comment lines just above it."""
    out, current, quote = [], [], None
    for line in text.splitlines(keepends=True):
        current.append(line)
        for tag in re.findall(r"\$[A-Za-z_]*\$", line):
            quote = None if quote == tag else (quote or tag)
        if quote is None and line.rstrip().endswith(";"):
            out.append("".join(current))
            current = []
    return out


def pick(source, *patterns, replace=False):
    """The statements of src/sql/<source> whose text matches any pattern, in file order."""
    chosen = [s for s in statements((SQL / source).read_text()) if any(re.search(p, s) for p in patterns)]
    missing = [p for p in patterns if not any(re.search(p, s) for s in chosen)]
    assert not missing, f"{source}: nothing matches {missing}"
    if replace:
        chosen = [re.sub(r"CREATE (FUNCTION|VIEW)", r"CREATE OR REPLACE \1", s, count=1) for s in chosen]
    return "".join(chosen)


def generated(schema, *names, replace=False):
    """pgrx's definitions of the named functions, created in schema parmana."""
    out = []
    for name in names:
        block = re.search(rf'CREATE  FUNCTION "{name}"\(.*?;\n', schema, re.S)
        assert block, name
        verb = "CREATE OR REPLACE FUNCTION" if replace else "CREATE FUNCTION"
        out.append(block.group(0).replace(f'CREATE  FUNCTION "{name}"', f'{verb} parmana."{name}"') + "\n")
    return "".join(out)


def main():
    schema = subprocess.run(
        ["cargo", "pgrx", "schema", "pg15", "--pg-config", PG_CONFIG],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    finalize = (SQL / "finalize.sql").read_text()
    grants = finalize[finalize.index("-- Every function starts closed"):]
    parts = [
        "-- parmana 0.3.0 -> 0.4.0: own schema and the security boundary, real identities, governed rows\n"
        "-- bound to their attestations, versioned configuration. Assembled by scripts/make_upgrade.py.\n",
        "\\echo Use \"ALTER EXTENSION parmana UPDATE TO '0.4.0'\" to load this file. \\quit\n\n",
        (SQL / "upgrade" / "0.3.0--0.4.0-before.sql").read_text(), "\n",
        pick("audit.sql", r"CREATE FUNCTION parmana\.(refuse_change|overrides_resolve_once|signing_keys_guard)\(", replace=True),
        pick("bootstrap.sql", r"CREATE VIEW parmana\.pending_overrides", replace=True),
        pick("audit.sql", r"CREATE VIEW parmana\.override_history", replace=True),
        pick("bootstrap.sql", r"CREATE TABLE parmana\.replay_steps", r"CREATE INDEX replay_steps_", r"ON TABLE parmana\.replay_steps"),
        pick("audit.sql", r"CREATE TRIGGER replay_steps_", r"'parmana\.replay_steps"),
        pick("audit.sql", r"CREATE UNIQUE INDEX checkpoints_tree_size", r"COMMENT ON TABLE parmana\.checkpoints",
             r"CREATE TABLE parmana\.log_tiles", r"COMMENT ON TABLE parmana\.log_tiles", r"log_tiles_grow_only",
             r"log_tiles_no_truncate", r"'parmana\.log_tiles'", r"COMMENT ON TABLE parmana\.checkpoint_state"),
        (SQL / "witness.sql").read_text(), "\n",
        (SQL / "shadow.sql").read_text(), "\n",
        "\n", generated(schema, "acting_role", "govern_execution_id", "govern_signal_columns", "govern_signals",
                        "parmana_govern_verify", "parmana_inclusion_proof", "parmana_consistency_proof",
                        "parmana_log_key", "parmana_witness_check", "parmana_witness_cosign", "parmana_witness_key",
                        "parmana_policy_test", "parmana_policy_diff"),
        generated(schema, "parmana_govern_refresh", replace=True),
        (SQL / "config.sql").read_text(), "\n",
        (SQL / "upgrade" / "0.3.0--0.4.0-after.sql").read_text(), "\n",
        (SQL / "govern.sql").read_text(), "\n",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA parmana FROM {ROLES};\n",
        f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA parmana FROM {ROLES};\n",
        grants,
    ]
    TARGET.write_text("".join(parts))
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
