#!/usr/bin/env python3
"""Differential test: spamtap against tshark on every capture of the shared corpus.

For each capture, spamtap must finish without crashing (exit 0, or 3 for a damaged
file), and its reading must equal tshark's:
  - the TCP connections (tshark's tcp.stream) with, per side, the packet count and the
    IP bytes (IPv4 total length, or IPv6 payload length + 40);
  - the SMTP commands (smtp.req.command) and reply codes (smtp.response.code, one per
    reply line) on the SMTP ports tshark dissects (25, 587, and 2525 by decode-as).
A capture where they differ fails the test unless it is listed in KNOWN below with the
reason, which must be a named tshark behaviour or a spamtap limitation marked in code.
"""
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import corpus_common as common  # noqa: E402

SMTP_PORTS = {25, 587, 2525}

# capture file name -> (which comparison, reason)
# Every entry was checked frame by frame (tshark -V, follow,tcp); spamtap's reading is the
# one the server's replies confirm.
_QUIT_AFTER_DOT = ("smtp commands",
                   "tshark 4.0 shows a client segment holding the final dot and then QUIT as "
                   "message data and sets no smtp.req.command for QUIT; spamtap counts QUIT, "
                   "whose 221 reply tshark also counts")
_FIRST_SEGMENT_IS_DATA = ("smtp commands",
                          "the client's first segment carries several commands (EHLO/HELO "
                          "... DATA and the message) before any server reply; tshark 4.0 "
                          "calls that segment a DATA fragment, spamtap reads the commands "
                          "that the server's replies answer one by one")
_BDAT_SEGMENT_IS_DATA = ("smtp commands",
                         "tshark 4.0 shows a client segment that opens with a BDAT line and "
                         "carries chunk bytes as a DATA fragment (no smtp.req.command), and "
                         "reads later commands (MAIL, RCPT, DATA, QUIT) as data too; spamtap "
                         "counts BDAT by its size and the commands after the chunk")
KNOWN = {
    "bug-1045__smtpsuricataflowbitsFN.pcap": _QUIT_AFTER_DOT,
    "smtp-subject-utf8-q.pcap": _QUIT_AFTER_DOT,
    "mail_receiver_server_3.pcapng": _QUIT_AFTER_DOT,
    "mail_sender_server_2.pcapng": _QUIT_AFTER_DOT,
    "smtp-moloch-bof.pcap": ("smtp commands",
                             "the client sends HELO..DATA, the message, the dot and QUIT "
                             "before the greeting; tshark 4.0 calls that a DATA fragment and "
                             "QUIT (after the dot) data; spamtap counts the 5 commands that "
                             "the server's 250/250/250/354/250/221 answer"),
    "smtp-subject-multi-nospace.pcap": _FIRST_SEGMENT_IS_DATA,
    "smtp-pipelining__input.pcap": _FIRST_SEGMENT_IS_DATA,
    "smtp-subject-windows.pcap": ("smtp commands, reply codes",
                                  "client sends EHLO..DATA and the message before the "
                                  "greeting (tshark: DATA fragment); the multi-line 220 "
                                  "greeting is split over two segments and tshark counts a "
                                  "220 for each segment, spamtap one reply"),
    "smtp__rfc3030-bdat-nonascii.pcap": ("reply codes",
                                         "the multi-line EHLO reply (250-localhost, 250 "
                                         "CHUNKING) is split over two segments; tshark counts "
                                         "a 250 per segment, spamtap one reply"),
    "firewall__ruletype-firewall-133-smtp-out-of-order-commands__smtp-out-of-order.pcap": (
        "smtp commands",
        "the server refuses DATA (503 need RCPT); tshark 4.0 still reads the next client "
        "lines (MAIL, RCPT, DATA) as message data, spamtap as the commands the server "
        "answers with 250/250/354"),
    "issue-4220-01-ids__1flowB.pcap": ("reply codes",
                                       "the server's 250 replies to HELO and MAIL appear in "
                                       "the capture after the client's ACK of them; tshark "
                                       "marks them spurious retransmissions and does not "
                                       "dissect them, spamtap's reassembly delivers them"),
    "smtp-long-command__input.pcap": ("smtp commands",
                                      "after AUTH LOGIN and 334 the client sends QUIT; the "
                                      "server takes it as the user name (answers 334 "
                                      "Password:), spamtap as auth data, tshark 4.0 as a "
                                      "QUIT command"),
    "smtp-bdat-bad-tail-next-mail__input.pcap": _BDAT_SEGMENT_IS_DATA,
    "smtp-bdat-last-next-mail__input.pcap": _BDAT_SEGMENT_IS_DATA,
    "smtp-bdat-multichunk-inspection__input.pcap": _BDAT_SEGMENT_IS_DATA,
    "smtp__smtp-bdat-pipeline-8bitmime.pcap": _BDAT_SEGMENT_IS_DATA,
    "smtp__smtp-bdat-cmd-chunk-size-overflow.pcap": (
        "smtp commands",
        "tshark 4.0 does not take a BDAT line whose size does not parse (overflowing) as a "
        "command and reads the rest of the client stream, QUIT included, as data; spamtap "
        "counts BDAT (answered 521) and QUIT"),
    "smtp__smtp-bdat-cmd-negative-chunk-size.pcap": (
        "smtp commands",
        "tshark 4.0 does not take a BDAT line with a negative size as a command and reads "
        "the rest of the client stream, QUIT included, as data; spamtap counts BDAT "
        "(answered 521) and QUIT"),
    "smtp__smtp-bdat-gap.pcap": ("smtp commands",
                                 "1000 client bytes are missing after BDAT 200; tshark 4.0 "
                                 "reads every later client segment as chunk data, spamtap "
                                 "resynchronizes on the DATA line that opens the next segment "
                                 "(answered 354) and counts DATA and QUIT (answered 221)"),
}


def tshark_reading(capture):
    fields = ["tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst",
              "tcp.dstport", "ip.len", "ipv6.plen", "smtp.req.command",
              "smtp.response.code", "icmp.type", "icmpv6.type", "frame.protocols"]
    rows = common.tshark_fields(capture, "tcp", fields,
                                extra=("-d", "tcp.port==2525,smtp"))
    streams = {}
    commands = collections.Counter()
    codes = collections.Counter()
    for row in rows:
        # An ICMP error quotes the TCP header of the packet it refers to, and tshark
        # puts that quote into the TCP stream; it is not a packet of the connection.
        if row["icmp.type"] or row["icmpv6.type"]:
            continue
        # Tunnels give several occurrences; the innermost header is the last one.
        def last(name):
            value = row[name]
            return value.split(",")[-1] if value else ""
        # The connection is the innermost IP header's (IPv6 inside IPv4 and the like).
        layers = row["frame.protocols"].split(":")
        inner_v6 = "ipv6" in layers and (
            "ip" not in layers or
            len(layers) - layers[::-1].index("ipv6") > len(layers) - layers[::-1].index("ip"))
        if inner_v6:
            source, destination = last("ipv6.src"), last("ipv6.dst")
        else:
            source, destination = last("ip.src"), last("ip.dst")
        if row["ip.len"] and not inner_v6:
            ip_bytes = int(last("ip.len"))
        else:
            ip_bytes = int(last("ipv6.plen") or 0) + 40
        key = (source, int(row["tcp.srcport"] or 0), destination, int(row["tcp.dstport"] or 0))
        stream = streams.setdefault(row["tcp.stream"], {"first": key, "sides": {}})
        side = stream["sides"].setdefault(key[:2], [0, 0])
        side[0] += 1
        side[1] += ip_bytes
        ports = {key[1], key[3]}
        if ports & SMTP_PORTS:
            for command in filter(None, row["smtp.req.command"].split(",")):
                command = command.upper()
                commands["STARTTLS" if command == "STAR" else command] += 1
            for code in filter(None, row["smtp.response.code"].split(",")):
                codes[int(code)] += 1
    connections = collections.Counter()
    for stream in streams.values():
        sides = stream["sides"]
        endpoints = sorted([stream["first"][:2], stream["first"][2:]])
        counts = tuple(tuple(sides.get(endpoint, [0, 0])) for endpoint in endpoints)
        connections[(tuple(endpoints), counts)] += 1
    return connections, commands, codes


def spamtap_reading(records):
    connections = collections.Counter()
    for record in records:
        if record["type"] != "conn" or record["protocol"] != 6:
            continue
        orig = (record["orig_addr"], record["orig_port"])
        resp = (record["resp_addr"], record["resp_port"])
        sides = {orig: (record["orig_packets"], record["orig_ip_bytes"]),
                 resp: (record["resp_packets"], record["resp_ip_bytes"])}
        endpoints = sorted([orig, resp])
        connections[(tuple(endpoints), tuple(sides[e] for e in endpoints))] += 1
    commands = collections.Counter()
    codes = collections.Counter()
    smtp_connections = {r["connection_id"] for r in records
                        if r["type"] == "smtp_session" and r["server_port"] in SMTP_PORTS}
    for record in records:
        if record.get("connection_id") not in smtp_connections:
            continue
        if record["type"] == "smtp_cmd":
            # AUTH continuation lines are data, not commands (tshark agrees).
            if record["verb"] and record["argument"] != "(auth data)":
                commands[record["verb"]] += 1
            if record["reply"]:
                codes[record["reply"]["code"]] += 1
        elif record["type"] == "smtp_session" and record["greeting"]:
            codes[record["greeting"]["code"]] += 1
        elif record["type"] == "smtp" and record["end_of_data_reply"]:
            # The reply to the final dot answers no command line; BDAT replies are
            # already counted with their commands.
            if record["data_reply"] and record["data_reply"]["code"] == 354:
                codes[record["end_of_data_reply"]["code"]] += 1
    return connections, commands, codes


def describe(counter, limit=4):
    items = sorted(counter.items(), key=str)[:limit]
    return "; ".join(f"{key}x{count}" for key, count in items)


def main():
    args = common.arguments()
    files = common.captures(args.corpus)
    if args.only:
        files = [f for f in files if args.only in f]
    if not common.have_tshark():
        print("SKIPPED: tshark is not installed; parity not checked")
        return common.SKIP

    failures = []
    rows = []
    with common.workdir() as work:
        for capture in files:
            name = os.path.relpath(capture, os.path.join(args.corpus, "pcap"))
            code, stderr, records = common.run_spamtap(args.spamtap, capture, work)
            if code not in (0, 3):
                failures.append(f"{name}: spamtap exited {code}: {stderr.strip()[-600:]}")
                continue
            ours = spamtap_reading(records)
            theirs = tshark_reading(capture)
            problems = []
            for label, mine, reference in zip(("connections", "smtp commands", "reply codes"),
                                              ours, theirs):
                if mine != reference:
                    only_mine = mine - reference
                    only_theirs = reference - mine
                    problems.append(f"{label}: spamtap only [{describe(only_mine)}] "
                                    f"tshark only [{describe(only_theirs)}]")
            known = KNOWN.get(os.path.basename(capture))
            status = "ok"
            if problems and known:
                status = f"known: {known}"
            elif problems:
                status = "DIFFERS"
                failures.append(f"{name}: " + " | ".join(problems))
            transactions = sum(1 for r in records if r["type"] == "smtp")
            events = sum(1 for r in records if r["type"] == "event")
            rows.append((name, sum(ours[0].values()), sum(theirs[0].values()),
                         sum(ours[1].values()), sum(ours[2].values()), transactions, events,
                         code, status))

    print(f"{'capture':70} {'tcp':>5} {'tshark':>6} {'cmds':>5} {'codes':>5} "
          f"{'tx':>3} {'ev':>3} {'exit':>4}  status")
    for row in rows:
        print(f"{row[0][:70]:70} {row[1]:5} {row[2]:6} {row[3]:5} {row[4]:5} {row[5]:3} "
              f"{row[6]:3} {row[7]:4}  {row[8]}")
    for failure in failures:
        print("FAIL", failure)
    passed = len(rows) - sum(1 for r in rows if r[8] == "DIFFERS")
    print(f"{passed} passed, {len(files) - passed} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
