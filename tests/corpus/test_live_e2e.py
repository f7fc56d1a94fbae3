"""`spamtap live` end to end on a real interface: two network namespaces joined by a veth
pair; spamtap captures on one end while this script sends the frames of the synthetic
demo capture out of the other end through a raw socket.

Checked: the bot the demo is built around (10.20.1.15) is the one suspect; a blocklist
that only names one of the demo's outside mail servers after a SIGHUP reload produces
hits for that server (the list loaded at start names nothing in the demo); SIGTERM stops
the capture with exit code 0 and the store is complete; the store files belong to the
unprivileged user spamtap switched to. The outside mail servers are read from the
capture by this script's own pcap parser, not by spamtap.

Needs root and `ip netns` (skipped, visibly, otherwise). Namespaces are removed at the
end whatever happens.
"""
import json
import os
import pwd
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus_common  # noqa: E402

SENDER = r"""
import socket, struct, sys, time
path, interface = sys.argv[1], sys.argv[2]
data = open(path, 'rb').read()
endian = '<' if data[:4] == bytes.fromhex('d4c3b2a1') else '>'
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((interface, 0))
offset, sent = 24, 0
while offset + 16 <= len(data):
    _, _, caplen, _ = struct.unpack(endian + 'IIII', data[offset:offset + 16])
    frame = data[offset + 16:offset + 16 + caplen]
    offset += 16 + caplen
    sock.send(frame)
    sent += 1
    if sent % 200 == 0:
        time.sleep(0.002)  # let the capture side keep up
print(sent)
"""


def pcap_frames(path):
    data = open(path, "rb").read()
    endian = "<" if data[:4] == bytes.fromhex("d4c3b2a1") else ">"
    offset = 24
    while offset + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        yield data[offset + 16:offset + 16 + caplen]
        offset += 16 + caplen


def outside_smtp_servers(path):
    """Destinations of SYNs to port 25 outside 10.20.0.0/16 (Ethernet, IPv4, TCP)."""
    servers = set()
    for frame in pcap_frames(path):
        if len(frame) < 34 + 14 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
            continue
        ihl = (frame[14] & 0x0F) * 4
        tcp = 14 + ihl
        destination_port = struct.unpack(">H", frame[tcp + 2:tcp + 4])[0]
        flags = frame[tcp + 13]
        destination = ".".join(str(b) for b in frame[30:34])
        if destination_port == 25 and flags & 0x02 and not flags & 0x10 and \
                not destination.startswith("10.20."):
            servers.add(destination)
    return sorted(servers)


def run(*command, check=True):
    return subprocess.run(command, check=check, capture_output=True, text=True)


def main():
    args = corpus_common.arguments()
    if os.geteuid() != 0:
        print("SKIPPED: needs root for network namespaces")
        return corpus_common.SKIP
    tag = str(os.getpid() % 100000)
    ns_a, ns_b = f"stlive-a{tag}", f"stlive-b{tag}"
    veth_a, veth_b = f"sta{tag}", f"stb{tag}"
    if subprocess.run(["ip", "netns", "add", ns_a], capture_output=True).returncode != 0:
        print("SKIPPED: cannot create network namespaces here")
        return corpus_common.SKIP
    live = None
    failures = []
    workdir = tempfile.mkdtemp(prefix="spamtap-live-")
    try:
        run("ip", "netns", "add", ns_b)
        run("ip", "link", "add", veth_a, "type", "veth", "peer", "name", veth_b)
        run("ip", "link", "set", veth_a, "netns", ns_a)
        run("ip", "link", "set", veth_b, "netns", ns_b)
        for ns, veth in ((ns_a, veth_a), (ns_b, veth_b)):
            run("ip", "netns", "exec", ns, "ip", "link", "set", veth, "mtu", "9000")
            run("ip", "netns", "exec", ns, "ip", "link", "set", veth, "up")
            run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")

        os.chmod(workdir, 0o755)  # spamtap runs as nobody once the capture is open
        demo = os.path.join(workdir, "demo.pcap")
        run(args.spamtap, "synth", "--scenario", "demo", "-o", demo)
        servers = outside_smtp_servers(demo)
        if not servers:
            failures.append("the demo capture has no outside SMTP server to list")
            return 1
        listed = servers[0]
        blocklist = os.path.join(workdir, "list.txt")
        with open(blocklist, "w") as handle:
            handle.write("192.0.2.250\n")  # nothing the demo talks to
        os.chmod(blocklist, 0o644)
        db = os.path.join(workdir, "live.db")
        log = open(os.path.join(workdir, "live.log"), "w+")
        live = subprocess.Popen(
            ["ip", "netns", "exec", ns_b, args.spamtap, "live", "-i", veth_b, "--db", db,
             "--home-net", "10.20.0.0/16", "--blocklist", f"spam={blocklist}",
             "--flush-interval", "0.5", "--user", "nobody"],
            stdout=subprocess.DEVNULL, stderr=log)

        def log_text():
            log.flush()
            with open(log.name, encoding="utf-8", errors="replace") as reader:
                return reader.read()

        def wait_for(text, seconds):
            deadline = time.time() + seconds
            while time.time() < deadline:
                if text in log_text():
                    return True
                if live.poll() is not None:
                    return False
                time.sleep(0.1)
            return False

        if not wait_for("capturing on", 15):
            failures.append("live did not start: " + log_text())
            return 1
        with open(blocklist, "w") as handle:
            handle.write(f"{listed}\n")
        live.send_signal(signal.SIGHUP)
        if not wait_for("blocklists reloaded", 15):
            failures.append("no reload after SIGHUP: " + log_text())
            return 1

        sent = run("ip", "netns", "exec", ns_a, "/usr/bin/python3", "-c", SENDER, demo,
                   veth_a).stdout.strip()
        expected = sum(1 for _ in pcap_frames(demo))
        print(f"sent {sent} of {expected} frames of the demo capture")
        time.sleep(2)
        live.send_signal(signal.SIGTERM)
        code = live.wait(timeout=60)
        live = None
        text = log_text()
        if code != 0:
            failures.append(f"exit code {code} after SIGTERM: {text}")
        received = [line for line in text.splitlines() if "frames received" in line]
        print(received[0] if received else text)

        suspects = [json.loads(line) for line in run(
            args.spamtap, "report", "suspects", "--db", db, "--format",
            "json").stdout.splitlines() if line.strip()]
        hosts = sorted({row.get("host") for row in suspects})
        print(f"suspects: {hosts}")
        if hosts != ["10.20.1.15"]:
            failures.append(f"suspects {hosts}, expected exactly 10.20.1.15")
        hits = [json.loads(line) for line in run(
            args.spamtap, "report", "blocklist", "--db", db, "--format",
            "json").stdout.splitlines() if line.strip()]
        remotes = sorted({row.get("remote") for row in hits})
        print(f"blocklist hits on: {remotes}")
        if remotes != [listed]:
            failures.append(f"blocklist hits on {remotes}, expected exactly {listed}")
        nobody = pwd.getpwnam("nobody").pw_uid
        if os.stat(db).st_uid != nobody:
            failures.append("the store was not handed to the user spamtap switched to")
    finally:
        if live is not None and live.poll() is None:
            live.kill()
            live.wait()
        for ns in (ns_a, ns_b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["rm", "-rf", workdir])
        for failure in failures:
            print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
