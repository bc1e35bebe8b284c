"""A 1,000,000-row log (PARMANA_LARGE_LOG_ROWS to change): proofs stay correct at scale, checked by
the independent RFC 9162 implementation and by parmana-verify, which also verifies the whole
export (every signature, the recomputed tree, every checkpoint) and reports a tampered row.
"""
import json
import os
import random
import time

import pytest
import rfc8785

from conftest import fresh_database
from tlog_support import LOAN, Log, b64, execute, needs_tlog, run_tool, tlog

ROWS = int(os.environ.get("PARMANA_LARGE_LOG_ROWS", "1000000"))
BATCHES = 10


@pytest.fixture(scope="module")
def large_log(tmp_path_factory):
    conn = fresh_database("parmana_tlog_large", policies=[LOAN])
    step = ROWS // BATCHES
    started = time.monotonic()
    for first in range(1, ROWS + 1, step):
        execute(conn, first, min(first + step - 1, ROWS), prefix="big")
        conn.execute("SELECT parmana.parmana_checkpoint()")
        conn.execute("SELECT parmana.parmana_checkpoint()")
    print(f"\n{ROWS} decisions and {BATCHES} checkpoints in {time.monotonic() - started:.0f} s")
    log = Log(conn, tmp_path_factory.mktemp("large_log"))
    yield log
    conn.close()


@needs_tlog
def test_inclusion_proofs_at_a_million_rows(large_log):
    heads = large_log.heads()
    assert max(heads) == ROWS and len(heads) == BATCHES
    rng = random.Random(1_000_000)
    edges = {1, 2, ROWS} | {2 ** k for k in range(1, 20) if 2 ** k <= ROWS} | {2 ** k + 1 for k in range(1, 20) if 2 ** k < ROWS}
    ids = sorted(edges | {rng.randint(1, ROWS) for _ in range(1000)})
    proofs = []
    for attestation_id in ids:
        size = rng.choice([s for s in heads if s >= attestation_id])
        proof = large_log.conn.execute("SELECT parmana.parmana_inclusion_proof(%s, %s)", (attestation_id, size)).fetchone()[0]
        assert proof["leafIndex"] == attestation_id - 1 and proof["treeSize"] == size
        leaf = tlog.leaf_hash(rfc8785.dumps(proof["attestation"]))
        assert tlog.verify_inclusion(leaf, proof["leafIndex"], size, [b64(h) for h in proof["hashes"]], heads[size][0])
        proofs.append(proof)
    result = run_tool("inclusion", "--log-key", large_log.vkey, "--public-key", large_log.pem_file,
                      large_log.write_lines("inclusion.jsonl", proofs))
    assert result.returncode == 0 and "FAIL" not in result.stdout, result.stdout[-2000:] + result.stderr


@needs_tlog
def test_consistency_proofs_between_every_pair_of_heads(large_log):
    heads = large_log.heads()
    sizes = sorted(heads)
    proofs = []
    for i, old in enumerate(sizes):
        for new in sizes[i + 1:]:
            proof = large_log.conn.execute("SELECT parmana.parmana_consistency_proof(%s, %s)", (old, new)).fetchone()[0]
            assert tlog.verify_consistency(old, new, [b64(h) for h in proof["hashes"]], heads[old][0], heads[new][0])
            proofs.append(proof)
    # Proofs from sizes that are not checkpoints verify against the root the proof states.
    for old in sorted(o for o in {1, 3, 255, 256, 257, 65535, 65537, ROWS - 1} if o < ROWS):
        proof = large_log.conn.execute("SELECT parmana.parmana_consistency_proof(%s)", (old,)).fetchone()[0]
        assert tlog.verify_consistency(old, ROWS, [b64(h) for h in proof["hashes"]], b64(proof["oldRootHash"]), heads[ROWS][0])
    result = run_tool("consistency", "--log-key", large_log.vkey, large_log.write_lines("consistency.jsonl", proofs))
    assert result.returncode == 0 and "FAIL" not in result.stdout, result.stdout + result.stderr


def test_the_tool_verifies_the_whole_export(large_log):
    conn, tmp = large_log.conn, large_log.tmp
    export, notes = tmp / "log.copy", tmp / "notes.copy"
    with conn.cursor() as cur:
        with export.open("wb") as out, cur.copy("COPY (SELECT id, attestation FROM parmana.attestations ORDER BY id) TO STDOUT") as copy:
            for chunk in copy:
                out.write(chunk)
        with notes.open("wb") as out, cur.copy("COPY (SELECT note FROM parmana.checkpoints WHERE note IS NOT NULL ORDER BY tree_size) TO STDOUT") as copy:
            for chunk in copy:
                out.write(chunk)
    args = ["log", "--public-key", large_log.pem_file, "--log-key", large_log.vkey, "--checkpoints", notes]
    ok = run_tool(*args, export)
    assert ok.returncode == 0, ok.stdout[-2000:] + ok.stderr
    assert f"{ROWS} rows, {BATCHES} checkpoints checked, 0 problems" in ok.stderr, ok.stderr

    tampered = tmp / "tampered.copy"
    target = ROWS // 2 + 17
    with export.open() as src, tampered.open("w") as out:
        for n, line in enumerate(src, 1):
            if n == target:
                row_id, doc = line.rstrip("\n").split("\t", 1)
                att = json.loads(doc.replace("\\\\", "\\"))
                att["execution_state"] = "blocked"
                line = f"{row_id}\t{json.dumps(att)}\n"
            out.write(line)
    export.unlink()
    bad = run_tool(*args, tampered)
    assert bad.returncode == 1
    assert f"FAIL line {target} (attestation {target}): signature does not verify" in bad.stdout
    later_heads = sum(1 for k in range(1, BATCHES + 1) if k * (ROWS // BATCHES) >= target)
    assert bad.stdout.count("the log was changed") == later_heads
    tampered.unlink()
