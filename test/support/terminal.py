"""Runs a command on a pseudo-terminal, as a person at a terminal would, and answers it.

    python terminal.py '<script JSON>' command args...

The script is a list of [expected text, keys to type]: each step waits for its text in the output so far
(180 s at most), then types its keys ("\\u0003" is Ctrl-C: the terminal turns it into SIGINT for the
foreground process group). The transcript goes to stdout; the exit status is the command's (128 + n for
a signal n).
"""
import json
import os
import pty
import select
import sys
import time

steps = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])

out = b""


def read(until=None, timeout=180.0):
    global out
    end = time.time() + timeout
    while until is None or until not in out:
        if time.time() > end:
            sys.stderr.write("pty: timed out waiting for %r\n" % until)
            return False
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:  # the command closed the terminal
            return until is None
        if not data:
            return until is None
        out += data
    return True


ok = True
for expected, keys in steps:
    if not read(expected.encode()):
        ok = False
        os.kill(pid, 9)
        break
    os.write(fd, keys.encode())
read(None)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.stdout.flush()
code = os.waitstatus_to_exitcode(status)
sys.exit((128 - code) if code < 0 else code if ok else 99)
