"""Blocklist matching end to end: a capture written here, two lists written here, then
`spamtap analyze --blocklist`, the JSON-lines events, `report blocklist` and `lookup`.

The expected hits are worked out in this script from the connection table and the list
entries with Python's ipaddress module, independently of spamtap, and must match the
events exactly (no more, no fewer). When the shared corpus is present, zeek/smtp.pcap is
also checked against a list naming its one outside SMTP server.
"""
import ipaddress
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus_common  # noqa: E402

HOME_NET = "10.1.0.0/16,fd00::/8"

# The lists: name, category, file name, file text, entries (as the file means them).
SPAM_FILE = """; spam sources, Spamhaus DROP text form
198.51.100.0/24 ; SBL1001
this line is not an entry
203.0.113.0/24 ; SBL1002
2001:db8:bad::/48 ; SBL1003
"""
SPAM_ENTRIES = {"198.51.100.0/24": "SBL1001", "203.0.113.0/24": "SBL1002",
                "2001:db8:bad::/48": "SBL1003"}
BOTNET_FILE = """# botnet controllers, one address a line
203.0.113.66
192.0.2.200
"""
BOTNET_ENTRIES = {"203.0.113.66/32": "", "192.0.2.200/32": ""}
LISTS = [("spam", SPAM_ENTRIES), ("botnet", BOTNET_ENTRIES)]

# The conversations: (protocol, originator, originator port, responder, responder port).
CONNECTIONS = [
    ("tcp", "10.1.0.5", 40001, "198.51.100.10", 25),    # outbound to the spam list
    ("tcp", "10.1.0.5", 40002, "203.0.113.66", 443),    # nested: spam /24 and botnet /32
    ("tcp", "192.0.2.200", 51000, "10.1.0.25", 25),     # inbound from a botnet address
    ("udp", "10.1.0.7", 40003, "8.8.4.4", 53),          # clean
    ("tcp", "fd00::5", 40004, "2001:db8:bad::1", 25),   # IPv6, spam list
    ("tcp", "198.51.100.20", 40005, "203.0.113.66", 80),  # both ends listed, neither local
    ("tcp", "10.1.0.5", 40006, "198.51.101.1", 25),     # just outside 198.51.100.0/24
    ("tcp", "10.1.0.9", 40007, "198.51.100.10", 25),    # a second host, same remote
]


def is_local(address):
    return any(ipaddress.ip_address(address) in ipaddress.ip_network(net)
               for net in HOME_NET.split(","))


def most_specific(entries, address):
    """The list's most specific entry holding `address`, or None."""
    best = None
    for text in entries:
        network = ipaddress.ip_network(text)
        if network.version != ipaddress.ip_address(address).version:
            continue
        if ipaddress.ip_address(address) in network:
            if best is None or network.prefixlen > ipaddress.ip_network(best).prefixlen:
                best = text
    return best


def expected_hits():
    """(connection index, host, peer, list, entry, direction), from the tables above."""
    hits = []
    for index, (_, orig, _, resp, _) in enumerate(CONNECTIONS):
        for listed, other, listed_is_orig in ((orig, resp, True), (resp, orig, False)):
            for name, entries in LISTS:
                entry = most_specific(entries, listed)
                if entry is None:
                    continue
                host_is_listed = is_local(listed) and not is_local(other)
                host = listed if host_is_listed else other
                host_is_orig = listed_is_orig if host_is_listed else not listed_is_orig
                hits.append((index, host, listed, name, entry,
                             "outbound" if host_is_orig else "inbound"))
    return sorted(hits)


# --- a pcap written by hand --------------------------------------------------------

def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ip_packet(src, dst, protocol, transport):
    source = ipaddress.ip_address(src)
    destination = ipaddress.ip_address(dst)
    if source.version == 4:
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(transport), 1, 0, 64,
                             protocol, 0, source.packed, destination.packed)
        header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
        return 0x0800, header + transport
    header = struct.pack("!IHBB16s16s", 0x60000000, len(transport), protocol, 64,
                         source.packed, destination.packed)
    return 0x86DD, header + transport


def pseudo_header(src, dst, protocol, length):
    source = ipaddress.ip_address(src).packed
    destination = ipaddress.ip_address(dst).packed
    if len(source) == 4:
        return source + destination + struct.pack("!BBH", 0, protocol, length)
    return source + destination + struct.pack("!IxxxB", length, protocol)


def tcp_segment(src, sport, dst, dport, seq, ack, flags, payload=b""):
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    segment = header + payload
    total = checksum(pseudo_header(src, dst, 6, len(segment)) + segment)
    return segment[:16] + struct.pack("!H", total) + segment[18:]


def udp_datagram(src, sport, dst, dport, payload):
    length = 8 + len(payload)
    datagram = struct.pack("!HHHH", sport, dport, length, 0) + payload
    total = checksum(pseudo_header(src, dst, 17, length) + datagram) or 0xFFFF
    return datagram[:6] + struct.pack("!H", total) + datagram[8:]


def frame(src, dst, protocol, transport):
    ethertype, packet = ip_packet(src, dst, protocol, transport)
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + struct.pack("!H", ethertype) + packet


def conversation_frames(protocol, orig, oport, resp, rport):
    """A short complete exchange: handshake, one request and answer, FIN both ways."""
    if protocol == "udp":
        return [frame(orig, resp, 17, udp_datagram(orig, oport, resp, rport, b"query")),
                frame(resp, orig, 17, udp_datagram(resp, rport, orig, oport, b"answer"))]
    syn, ack, fin, psh = 0x02, 0x10, 0x01, 0x08
    c, s = 1000, 5000
    out = [frame(orig, resp, 6, tcp_segment(orig, oport, resp, rport, c, 0, syn)),
           frame(resp, orig, 6, tcp_segment(resp, rport, orig, oport, s, c + 1, syn | ack)),
           frame(orig, resp, 6, tcp_segment(orig, oport, resp, rport, c + 1, s + 1, ack)),
           frame(orig, resp, 6, tcp_segment(orig, oport, resp, rport, c + 1, s + 1,
                                            psh | ack, b"hello\r\n")),
           frame(resp, orig, 6, tcp_segment(resp, rport, orig, oport, s + 1, c + 8,
                                            psh | ack, b"bye\r\n")),
           frame(orig, resp, 6, tcp_segment(orig, oport, resp, rport, c + 8, s + 6, fin | ack)),
           frame(resp, orig, 6, tcp_segment(resp, rport, orig, oport, s + 6, c + 9, fin | ack)),
           frame(orig, resp, 6, tcp_segment(orig, oport, resp, rport, c + 9, s + 7, ack))]
    return out


def write_pcap(path):
    start = 1_700_000_000
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for index, connection in enumerate(CONNECTIONS):
            for number, data in enumerate(conversation_frames(*connection)):
                out.write(struct.pack("<IIII", start + 10 * index, 1000 * number, len(data),
                                      len(data)))
                out.write(data)


# --- the checks --------------------------------------------------------------------

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL:", message)


def run(command):
    return subprocess.run(command, capture_output=True, text=True, errors="replace",
                          timeout=300)


def read_records(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def check_own_capture(spamtap, workdir):
    capture = os.path.join(workdir, "listed.pcap")
    write_pcap(capture)
    spam = os.path.join(workdir, "spam.txt")
    botnet = os.path.join(workdir, "botnet.txt")
    with open(spam, "w") as handle:
        handle.write(SPAM_FILE)
    with open(botnet, "w") as handle:
        handle.write(BOTNET_FILE)
    lists = ["--blocklist", f"spam={spam},category=spam,weight=2",
             "--blocklist", f"botnet={botnet},category=botnet,weight=5"]

    db = os.path.join(workdir, "store.db")
    out = os.path.join(workdir, "records.jsonl")
    result = run([spamtap, "analyze", "--db", db, "--home-net", HOME_NET, "--json-out", out,
                  *lists, capture])
    check(result.returncode == 0, f"analyze exited {result.returncode}: {result.stderr}")
    check(f"{spam}:3:" in result.stderr, "the bad line is reported with file and line:\n"
          + result.stderr)
    check("blocklist spam: 3 entries" in result.stderr, "per-list count line for spam")
    check("blocklist botnet: 2 entries" in result.stderr, "per-list count line for botnet")

    records = read_records(out)
    connection_index = {}
    for record in records:
        if record["type"] != "conn":
            continue
        key = (record["orig_addr"], record["orig_port"], record["resp_addr"],
               record["resp_port"])
        for index, (_, orig, oport, resp, rport) in enumerate(CONNECTIONS):
            if key == (orig, oport, resp, rport):
                connection_index[record["id"]] = index
    check(len(connection_index) == len(CONNECTIONS),
          f"every written conversation is one connection: {len(connection_index)}")

    got = []
    for record in records:
        if record["type"] != "event" or record["rule"] != 4300:
            continue
        evidence = json.loads(record["evidence"])
        got.append((connection_index.get(record["connection_id"], -1), record["host"],
                    record["peer"], evidence["list"], evidence["entry"],
                    evidence["direction"]))
    got.sort()
    want = expected_hits()
    check(len(want) == 9, f"counted by hand: 9 hits, the tables give {len(want)}")
    check(got == want, "blocklist events differ:\n  got  " + "\n       ".join(map(str, got))
          + "\n  want " + "\n       ".join(map(str, want)))
    other_events = [r for r in records if r["type"] == "event" and r["rule"] != 4300]
    check(not other_events, f"no other events expected: {other_events}")

    # The report: one row per (list, host, remote), connections counted per row.
    result = run([spamtap, "report", "blocklist", "--db", db, "--format", "json"])
    check(result.returncode == 0, f"report exited {result.returncode}: {result.stderr}")
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    got_rows = sorted((r["list"], r["host"], r["remote"], r["connections"]) for r in rows)
    want_rows = {}
    for _, host, peer, name, _, _ in want:
        want_rows[(name, host, peer)] = want_rows.get((name, host, peer), 0) + 1
    want_rows = sorted(key + (count,) for key, count in want_rows.items())
    check(got_rows == want_rows, f"report rows differ:\n  got  {got_rows}\n  want {want_rows}")

    result = run([spamtap, "report", "blocklist", "--db", db, "--by", "host", "--format",
                  "json"])
    hosts = {r["host"]: r["lists"] for r in map(json.loads, result.stdout.splitlines())}
    check(hosts.get("10.1.0.5") == "botnet, spam",
          f"10.1.0.5 is shown with both lists: {hosts}")

    # lookup answers from the same lists.
    result = run([spamtap, "lookup", *lists, "--format", "json", "203.0.113.66",
                  "198.51.101.1"])
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    check(len(answers) == 2 and [m["list"] for m in answers[0]["matches"]] ==
          ["spam", "botnet"] and not answers[1]["listed"], f"lookup: {result.stdout}")

    # Start-up errors: an unreadable list is exit 1, a malformed option exit 2.
    result = run([spamtap, "analyze", "--quiet", "--db", db, "--blocklist",
                  f"gone={workdir}/missing.txt", capture])
    check(result.returncode == 1, f"unreadable list: exit {result.returncode}")
    check("gone" in result.stderr and "missing.txt" in result.stderr,
          f"unreadable list message names list and file: {result.stderr}")
    result = run([spamtap, "analyze", "--quiet", "--db", db, "--blocklist", "no-path",
                  capture])
    check(result.returncode == 2, f"bad --blocklist: exit {result.returncode}")


def check_corpus_capture(spamtap, corpus, workdir):
    capture = os.path.join(corpus, "pcap", "zeek", "smtp.pcap")
    if not os.path.exists(capture):
        print(f"corpus part not run: {capture} is absent")
        return
    listed = os.path.join(workdir, "smtp-server.txt")
    with open(listed, "w") as handle:
        handle.write("74.53.140.153\n")
    db = os.path.join(workdir, "corpus.db")
    out = os.path.join(workdir, "corpus.jsonl")
    result = run([spamtap, "analyze", "--quiet", "--db", db, "--json-out", out,
                  "--blocklist", f"server={listed}", capture])
    check(result.returncode == 0, f"corpus analyze exited {result.returncode}")
    events = [r for r in read_records(out) if r["type"] == "event" and r["rule"] == 4300]
    got = [(e["host"], e["peer"], e["peer_port"], json.loads(e["evidence"])["direction"])
           for e in events]
    # One TCP conversation in the capture reaches 74.53.140.153 (10.10.1.4:1470 -> :25).
    check(got == [("10.10.1.4", "74.53.140.153", 25, "outbound")],
          f"zeek/smtp.pcap hits: {got}")


def main():
    arguments = corpus_common.arguments()
    with tempfile.TemporaryDirectory(prefix="spamtap-blocklist-") as workdir:
        check_own_capture(arguments.spamtap, workdir)
        check_corpus_capture(arguments.spamtap, arguments.corpus, workdir)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("blocklist end-to-end: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
