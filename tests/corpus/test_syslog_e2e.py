"""End to end: `spamtap analyze --syslog ...` against a real rsyslog on 127.0.0.1.

Writes a small capture of its own (two SMTP clients whose RCPTs a server refuses as
relaying, one of them with a hostile 10 KB EHLO and a hostile RCPT), starts rsyslogd
with a UDP and a TCP input on free loopback ports, runs the analysis with both as
syslog targets, and checks what rsyslog received: every event exactly once per
target, parsed as RFC 5424 (protocol version 1, structured data, MSGID), and no raw
control byte in any message. Exit 77 (skipped) when not root or rsyslogd is missing.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus_common import SKIP, arguments  # noqa: E402

SERVER = "198.51.100.10"
RELAY_REFUSAL = b"554 5.7.1 Relay access denied"


# --- capture -------------------------------------------------------------------------

def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(text):
    return socket.inet_aton(text)


def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = ipv4(src) + ipv4(dst) + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp + payload)) + tcp[18:]
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0x4000, 64, 6, 0,
                     ipv4(src), ipv4(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    ethernet = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return ethernet + ip + tcp + payload


class Conversation:
    """One TCP connection, client to SERVER:25, with the sequence numbers kept."""

    def __init__(self, packets, clock, client, port):
        self.packets, self.clock = packets, clock
        self.client, self.port = client, port
        self.client_seq, self.server_seq = 1000, 5000
        self.add(True, 0x02, b"")                          # SYN
        self.client_seq += 1
        self.add(False, 0x12, b"", ack=self.client_seq)    # SYN-ACK
        self.server_seq += 1
        self.add(True, 0x10, b"")                          # ACK

    def add(self, from_client, flags, payload, ack=None):
        self.clock[0] += 0.001
        if from_client:
            packet = frame(self.client, SERVER, self.port, 25, self.client_seq,
                           ack if ack is not None else self.server_seq, flags, payload)
            self.client_seq += len(payload)
        else:
            packet = frame(SERVER, self.client, 25, self.port, self.server_seq,
                           ack if ack is not None else self.client_seq, flags, payload)
            self.server_seq += len(payload)
        self.packets.append((self.clock[0], packet))

    def send(self, from_client, data):
        for start in range(0, len(data), 1400):
            self.add(from_client, 0x18, data[start:start + 1400])

    def close(self):
        self.add(True, 0x11, b"")
        self.client_seq += 1
        self.add(False, 0x11, b"")
        self.server_seq += 1
        self.add(True, 0x10, b"")


def hostile_helo():
    """A 10 KB EHLO argument with every control byte except CR and LF, and the
    characters that syslog and CEF treat specially. Still one SMTP line."""
    controls = bytes(b for b in range(0x20) if b not in (0x0A, 0x0D)) + b"\x7f"
    unit = b"evil" + controls + b'\x1b[2J]"\\|=\xff\xc3\xa9'
    return (unit * (10240 // len(unit) + 1))[:10240]


def write_capture(path):
    """Returns how many events rule 4122 must give: one per RCPT refused as relaying."""
    packets, clock = [], [1796400350.0]
    expected = 0
    sessions = [
        ("10.0.0.5", 40001, b"EHLO " + hostile_helo(),
         [b"<a1@victim.example>", b'<x\x1b[31m]"\\\x01\x00@victim.example>',
          b"<a3@victim.example>"]),
        ("10.0.0.6", 40002, b"EHLO desktop6.example", [b"<b1@victim.example>",
                                                      b"<b2@victim.example>"]),
    ]
    for client, port, helo, recipients in sessions:
        conversation = Conversation(packets, clock, client, port)
        conversation.send(False, b"220 mx.example ESMTP\r\n")
        conversation.send(True, helo + b"\r\n")
        conversation.send(False, b"250-mx.example\r\n250 8BITMIME\r\n")
        conversation.send(True, b"MAIL FROM:<sender@spam.example>\r\n")
        conversation.send(False, b"250 2.1.0 Ok\r\n")
        for recipient in recipients:
            conversation.send(True, b"RCPT TO:" + recipient + b"\r\n")
            conversation.send(False, RELAY_REFUSAL + b"\r\n")
            expected += 1
        conversation.send(True, b"QUIT\r\n")
        conversation.send(False, b"221 2.0.0 Bye\r\n")
        conversation.close()

    with open(path, "wb") as handle:
        handle.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for stamp, packet in packets:
            seconds = int(stamp)
            micros = int(round((stamp - seconds) * 1e6))
            handle.write(struct.pack("<IIII", seconds, micros, len(packet), len(packet)))
            handle.write(packet)
    return expected


# --- rsyslog -------------------------------------------------------------------------

def free_port(kind):
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rsyslog_config(directory, udp_port, tcp_port):
    def ruleset(name):
        base = os.path.join(directory, name)
        return (f'ruleset(name="{name}") {{\n'
                f'  action(type="omfile" file="{base}.raw" template="raw")\n'
                f'  action(type="omfile" file="{base}.json" template="json")\n}}\n')
    return (f'global(maxMessageSize="64k" workDirectory="{directory}")\n'
            'module(load="imudp")\nmodule(load="imtcp")\n'
            'template(name="raw" type="list") { property(name="rawmsg") '
            'constant(value="\\n") }\n'
            'template(name="json" type="list") { property(name="jsonmesg") '
            'constant(value="\\n") }\n'
            + ruleset("udp") + ruleset("tcp") +
            f'input(type="imudp" address="127.0.0.1" port="{udp_port}" ruleset="udp")\n'
            f'input(type="imtcp" address="127.0.0.1" port="{tcp_port}" ruleset="tcp")\n')


def wait_for_tcp(port, process, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path, "rb") as handle:
        return handle.read().split(b"\n")[:-1]


def stop(process):
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


# --- checks --------------------------------------------------------------------------

def check_input(name, directory, expected_events, json_events, limit):
    problems = []
    parsed = read_lines(os.path.join(directory, name + ".json"))
    raw = read_lines(os.path.join(directory, name + ".raw"))
    if len(parsed) != expected_events or len(raw) != expected_events:
        problems.append(f"{name}: {len(parsed)} parsed and {len(raw)} raw messages, "
                        f"expected {expected_events}")
    if len(set(raw)) != len(raw):
        problems.append(f"{name}: a message arrived twice")

    for line in raw:
        bad = [b for b in line if b < 0x20 or b == 0x7F]
        if bad:
            problems.append(f"{name}: raw control byte 0x{bad[0]:02x} in {line[:60]!r}")
        if len(line) > limit:
            problems.append(f"{name}: message of {len(line)} bytes over the limit {limit}")

    seen = []
    for line in parsed:
        record = json.loads(line)
        sd = record.get("structured-data", "")
        if record.get("protocol-version") != "1" or record.get("msgid") != "4122":
            problems.append(f"{name}: not parsed as RFC 5424 with MSGID 4122: "
                            f"{record.get('protocol-version')!r} {record.get('msgid')!r}")
        if not sd.startswith('[spamtap@32473 rule="4122"'):
            problems.append(f"{name}: structured data not recognised: {sd[:80]!r}")
            continue
        fields = dict(part.split("=", 1) for part in sd[1:-1].split(" ")[1:] if "=" in part)
        seen.append((fields.get("host", "").strip('"'), fields.get("conn", "").strip('"')))
    wanted = sorted((e["host"], str(e["connection_id"])) for e in json_events)
    if sorted(seen) != wanted:
        problems.append(f"{name}: events by (host, connection) {sorted(seen)} != {wanted}")
    return problems


def main():
    args = arguments()
    rsyslogd = shutil.which("rsyslogd") or next(
        (p for p in ("/usr/sbin/rsyslogd", "/sbin/rsyslogd") if os.access(p, os.X_OK)), None)
    if os.geteuid() != 0:
        print("SKIPPED: the rsyslog end-to-end test runs rsyslogd and needs root")
        return SKIP
    if rsyslogd is None:
        print("SKIPPED: rsyslogd is not installed (apt-get install -y rsyslog)")
        return SKIP

    directory = tempfile.mkdtemp(prefix="spamtap-syslog-e2e-")
    process = None
    try:
        capture = os.path.join(directory, "relay.pcap")
        expected = write_capture(capture)
        udp_port, tcp_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
        config = os.path.join(directory, "rsyslog.conf")
        with open(config, "w") as handle:
            handle.write(rsyslog_config(directory, udp_port, tcp_port))
        with open(os.path.join(directory, "rsyslogd.log"), "wb") as log:
            process = subprocess.Popen(
                [rsyslogd, "-n", "-f", config, "-i", os.path.join(directory, "rsyslogd.pid")],
                stdout=log, stderr=subprocess.STDOUT)
        if not wait_for_tcp(tcp_port, process):
            print(f"FAIL: rsyslogd did not open 127.0.0.1:{tcp_port} "
                  f"(see {directory}/rsyslogd.log)")
            return 1

        records = os.path.join(directory, "records.jsonl")
        command = [args.spamtap, "analyze", "--quiet", "--db", os.path.join(directory, "s.db"),
                   "--json-out", records,
                   "--syslog", f"udp://127.0.0.1:{udp_port}",
                   "--syslog", f"tcp://127.0.0.1:{tcp_port}", capture]
        result = subprocess.run(command, capture_output=True, text=True, errors="replace",
                                timeout=120)
        if result.returncode != 0:
            print(f"FAIL: spamtap analyze exited {result.returncode}: {result.stderr.strip()}")
            return 1

        with open(records, encoding="utf-8") as handle:
            events = [r for r in map(json.loads, handle)
                      if r.get("type") == "event" and r.get("rule") == 4122]
        problems = []
        if len(events) != expected:
            problems.append(f"the analysis gave {len(events)} rule-4122 events, the capture "
                            f"holds {expected} RCPTs refused as relaying")

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(
                len(read_lines(os.path.join(directory, n + ".json"))) < expected
                for n in ("udp", "tcp")):
            time.sleep(0.1)
        time.sleep(0.3)  # a duplicate would show up by now
        problems += check_input("udp", directory, expected, events, 2048)
        problems += check_input("tcp", directory, expected, events, 8192)

        for problem in problems:
            print("FAIL:", problem)
        if problems:
            print(f"(files kept in {directory})")
            directory = None
            return 1
        print(f"ok: {expected} events arrived once each over UDP and TCP as RFC 5424")
        return 0
    finally:
        if process is not None:
            stop(process)
        if directory:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
