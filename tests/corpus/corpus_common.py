"""Shared helpers for the corpus tests: find captures, run spamtap and tshark."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

SKIP = 77  # ctest's SKIP_RETURN_CODE for these scripts


def arguments():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spamtap", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--only", help="substring of the capture paths to run")
    return parser.parse_args()


def captures(corpus):
    root = os.path.join(corpus, "pcap")
    if not os.path.isdir(root):
        print(f"SKIPPED: corpus folder {root} is absent; corpus tests not run")
        sys.exit(SKIP)
    found = []
    for directory, _, files in os.walk(root):
        for name in files:
            found.append(os.path.join(directory, name))
    return sorted(found)


def run_spamtap(spamtap, capture, workdir):
    """Analyzes one capture; returns (exit code, stderr, list of JSON records)."""
    db = os.path.join(workdir, "store.db")
    out = os.path.join(workdir, "records.jsonl")
    for path in (db, db + "-wal", db + "-shm", out):
        if os.path.exists(path):
            os.remove(path)
    result = subprocess.run(
        [spamtap, "analyze", "--quiet", "--db", db, "--json-out", out, capture],
        capture_output=True, text=True, errors="replace", timeout=300)
    records = []
    if os.path.exists(out):
        with open(out, encoding="utf-8") as handle:
            for line in handle:
                records.append(json.loads(line))
    return result.returncode, result.stderr, records


def have_tshark():
    try:
        subprocess.run(["tshark", "--version"], capture_output=True, timeout=60)
        return True
    except (OSError, subprocess.SubprocessError):
        return False


def tshark_fields(capture, display_filter, fields, extra=()):
    command = ["tshark", "-n", "-r", capture, "-Y", display_filter, "-T", "fields",
               "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,",
               *extra]
    for field in fields:
        command += ["-e", field]
    result = subprocess.run(command, capture_output=True, text=True, errors="replace",
                            timeout=300)
    rows = []
    for line in result.stdout.splitlines():
        values = line.split("\t")
        values += [""] * (len(fields) - len(values))
        rows.append(dict(zip(fields, values)))
    return rows


def workdir():
    return tempfile.TemporaryDirectory(prefix="spamtap-corpus-")
