#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The host side of a guest's "@@qemu-monitor" requests (guest.sh MONITOR=1).

  guest-monitor.py CONSOLE_LOG QMP_SOCKET MONITOR_LOG

Follows the console log as QEMU's console is written into it and, for each
complete line holding "@@qemu-monitor HMP-COMMAND" (a kernel message may
precede the marker on the same line), runs the command through QMP's
human-monitor-command and appends the command and its output to
MONITOR_LOG. Exits when QEMU closes the QMP connection (QEMU exited), or
when the socket never appears. The guest learns the effect by itself
(/proc/iomem, dmesg): nothing is sent back to it.
"""
import json
import os
import re
import select
import socket
import sys
import time

MARKER = re.compile(r"@@qemu-monitor\s+(\S.*?)\s*$")
CONNECT_TIMEOUT = 120   # seconds for QEMU to create the socket
POLL = 0.2


def log(out, text):
    out.write(text + "\n")
    out.flush()


class Qmp:
    def __init__(self, path):
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(POLL)
        self.buf = b""
        self.recv()                         # the greeting
        self.call({"execute": "qmp_capabilities"})

    def recv(self):
        """One JSON message; None when QEMU closed the connection."""
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, cmd):
        """The reply to cmd, skipping asynchronous events."""
        self.sock.sendall(json.dumps(cmd).encode() + b"\n")
        while True:
            msg = self.recv()
            if msg is None or "return" in msg or "error" in msg:
                return msg

    def hmp(self, line):
        msg = self.call({"execute": "human-monitor-command",
                         "arguments": {"command-line": line}})
        if msg is None:
            return None
        if "error" in msg:
            return "QMP error: %s" % msg["error"].get("desc", msg["error"])
        return msg["return"]

    def closed(self):
        """QEMU went away (or sent an event, which is read and dropped)."""
        readable, _, _ = select.select([self.sock], [], [], 0)
        if not readable:
            return False
        try:
            data = self.sock.recv(65536)
        except OSError:
            return True
        if not data:
            return True
        self.buf += data
        while b"\n" in self.buf:            # events: nothing to do with them
            self.buf = self.buf.split(b"\n", 1)[1]
        return False


def follow(console, qmp, out):
    """Run the requests of complete console lines until QEMU exits."""
    pos, partial = 0, b""
    while True:
        gone = qmp.closed()
        try:
            with open(console, "rb") as f:
                f.seek(pos)
                data = f.read()
        except FileNotFoundError:
            data = b""
        pos += len(data)
        lines = (partial + data).split(b"\n")
        partial = lines.pop()
        for raw in lines:
            m = MARKER.search(raw.decode("utf-8", "replace").replace("\r", ""))
            if not m:
                continue
            log(out, "(qemu) " + m.group(1))
            reply = qmp.hmp(m.group(1))
            if reply is None:
                log(out, "# QEMU closed the monitor")
                return
            if reply.strip():
                log(out, reply.rstrip("\n"))
        if gone:
            log(out, "# QEMU exited")
            return
        time.sleep(POLL)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    console, path, monitor_log = sys.argv[1:]
    with open(monitor_log, "a") as out:
        try:
            qmp = Qmp(path)
        except OSError as e:
            log(out, "# no QMP socket %s: %s" % (path, e))
            return 1
        log(out, "# QMP connected, following %s" % console)
        follow(console, qmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
