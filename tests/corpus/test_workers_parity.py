"""`--workers N` gives the same results as one worker, on every corpus capture and on a
synthetic office capture with bots.

Each capture is analyzed with --workers 1 and --workers 3 (and the synthetic one also
with 2 and 5); the JSON-lines outputs (every connection, SMTP transaction, exchange,
session, anomaly, event, software and run record) must be identical line for line. Real
captures bring what a synthetic one lacks: fragments, tunnels, VLANs, Linux cooked and
loopback link types, IPv6, truncated frames.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus_common  # noqa: E402


def analyze(spamtap, capture, workers, workdir):
    db = os.path.join(workdir, f"w{workers}.db")
    out = os.path.join(workdir, f"w{workers}.jsonl")
    for path in (db, db + "-wal", db + "-shm", out):
        if os.path.exists(path):
            os.remove(path)
    result = subprocess.run(
        [spamtap, "analyze", "--quiet", "--db", db, "--json-out", out, "--workers",
         str(workers), capture], capture_output=True, text=True, errors="replace", timeout=600)
    with open(out, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    return result.returncode, lines


def compare(spamtap, capture, worker_counts, workdir):
    code_one, one = analyze(spamtap, capture, 1, workdir)
    problems = []
    for workers in worker_counts:
        code, lines = analyze(spamtap, capture, workers, workdir)
        if code != code_one:
            problems.append(f"exit code {code} with {workers} workers, {code_one} with 1")
        if lines != one:
            differing = next((i for i, (a, b) in enumerate(zip(one, lines)) if a != b),
                             min(len(one), len(lines)))
            problems.append(f"{workers} workers: {len(lines)} records vs {len(one)}; first "
                            f"difference at record {differing + 1}")
    return len(one), problems


def main():
    args = corpus_common.arguments()
    failures = 0
    checked = 0
    with tempfile.TemporaryDirectory() as workdir:
        office = os.path.join(workdir, "office.pcap")
        subprocess.run([args.spamtap, "synth", "--scenario", "office", "--seed", "7",
                        "--hosts", "60", "--duration", "10m", "--bots", "2", "-o", office],
                       check=True, stdout=subprocess.DEVNULL)
        records, problems = compare(args.spamtap, office, [2, 3, 5], workdir)
        print(f"synthetic office: {records} records, "
              f"{'identical' if not problems else '; '.join(problems)}")
        failures += bool(problems)
        if records < 1000:
            print("FAIL: the synthetic capture gave too few records to mean anything")
            failures += 1

        corpus_root = os.path.join(args.corpus, "pcap")
        if not os.path.isdir(corpus_root):
            print(f"SKIPPED (corpus part): {corpus_root} is absent")
        else:
            corpus_failures = 0
            for capture in corpus_common.captures(args.corpus):
                if args.only and args.only not in capture:
                    continue
                records, problems = compare(args.spamtap, capture, [3], workdir)
                checked += 1
                if problems:
                    corpus_failures += 1
                    print(f"FAIL {os.path.relpath(capture, args.corpus)}: {'; '.join(problems)}")
            print(f"corpus: {checked - corpus_failures} of {checked} captures identical with 3 "
                  "workers")
            failures += corpus_failures
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
