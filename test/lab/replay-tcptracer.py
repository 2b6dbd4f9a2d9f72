"""Stands in for BCC's tcptracer in tests, openly: it replays a recorded capture instead of tracing.

The node lab cannot run the real tcptracer (this kernel has no kprobes), so tests point the probe's
SNATMON_PROBE_TCPTRACER at this file. It checks it was started the way the probe starts tcptracer
(`python3 PATH -t4v`), writes the capture named by SNATMON_LAB_REPLAY to stdout, then waits for SIGINT and exits 0,
as tcptracer does on Ctrl-C. SNATMON_LAB_REPLAY_IGNORE_INT=1 makes it ignore SIGINT, like a hung tracer.
"""
import os
import signal
import sys

if sys.argv[1:] != ['-t4v']:
    sys.stderr.write('replay-tcptracer: expected the arguments -t4v, got %r\n' % sys.argv[1:])
    sys.exit(2)
if os.environ.get('SNATMON_LAB_REPLAY_IGNORE_INT') == '1':
    signal.signal(signal.SIGINT, signal.SIG_IGN)
try:
    with open(os.environ['SNATMON_LAB_REPLAY'], 'rb') as capture:
        while True:
            chunk = capture.read(1 << 16)
            if not chunk:
                break
            sys.stdout.buffer.write(chunk)
    sys.stdout.flush()
    while True:
        signal.pause()
except KeyboardInterrupt:
    sys.exit(0)
