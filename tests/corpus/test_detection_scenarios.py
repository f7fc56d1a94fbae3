#!/usr/bin/env python3
"""Labeled scenarios: offices written by `spamtap synth` with bots of every kind (relay
prober, dead-address mailer, blocklisted bot, direct-to-MX fan-out) among ordinary
desktops that browse, read mail over IMAP and submit on 587, and a mail server that
bounces an address now and then. Every bot must be a suspect; no innocent host may be a
suspect or have any spam-source event. The truth comes from the writer's truth file."""
import os
import sys

here = os.path.dirname(__file__)
from importlib.machinery import SourceFileLoader
detection = SourceFileLoader("detection", os.path.join(here, "..", "..", "bench",
                                                       "detection")).load_module()
import corpus_common as common  # noqa: E402


def main():
    args = common.arguments()
    failures = []
    passed = 0
    with common.workdir() as work:
        for seed, hosts, bots in ((11, 25, 1), (12, 40, 2), (13, 15, 3)):
            r = detection.run_scenario(args.spamtap, seed, hosts, bots, "20m", work)
            ok = (not r["missed"] and not r["false_positives"]
                  and not r["innocent_with_events"] and r["bots"] > 0)
            print(f"seed {seed}: {r['found']}/{r['bots']} bots named, "
                  f"{len(r['false_positives'])} of {r['innocent']} innocent hosts named, "
                  f"{len(r['innocent_with_events'])} innocent hosts with events"
                  f" -> {'ok' if ok else 'FAIL'}")
            if ok:
                passed += 1
            else:
                failures.append(r)
    for failure in failures:
        print("FAIL", failure)
    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
