"""Plays a process of the node lab (test/lab/nodeLab.ts): a server on the "internet", a pod's application,
or a pod's pause process. Traffic only ever goes to addresses inside the lab's own network namespaces.

    agent.py --name COMM --ready FILE pause
    agent.py --name COMM --ready FILE serve ADDR:PORT...
    agent.py --name COMM --ready FILE [--control FILE] [hold:N@ADDR[-LAST]:PORT[-PORT]]... [churn:N@ADDR:PORT]...

hold opens N connections and keeps them (addresses and ports of ranges used in turn); churn opens N connections and
closes each at once from the client side, so the client's end waits in TIME_WAIT. The ready file gets the PID
once everything is open; the process then stays until it is killed. On SIGUSR1 it opens what the control file
lists (same spec syntax), then renames the file to FILE.done.
"""
import ctypes
import os
import resource
import selectors
import signal
import socket
import sys


def set_comm(name):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME: what ps, lsns and ss show


def expand(text, prefix=''):
    """`80` or `20000-20015`; for hosts, `192.0.2.30` or `192.0.2.1-254` (a range of the last octet)."""
    head, dot, last = text.rpartition('.') if prefix == 'host' else ('', '', text)
    if '-' in last:
        low, high = last.split('-')
        values = range(int(low), int(high) + 1)
    else:
        values = [int(last)]
    return [head + dot + str(v) for v in values] if prefix == 'host' else list(values)


def split_address(text):
    host, _, port = text.rpartition(':')
    return expand(host, 'host'), expand(port)


def serve(addresses):
    sel = selectors.DefaultSelector()
    for text in addresses:
        hosts, ports = split_address(text)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((hosts[0], ports[0]))
        s.listen(4096)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, 'listen')
    return sel


def run_server(sel):
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if key.data == 'listen':
                try:
                    conn, _ = s.accept()
                except BlockingIOError:
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ, 'conn')
            else:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b''
                if not data:
                    # The client closed first: closing now lets the client's end reach TIME_WAIT.
                    sel.unregister(s)
                    s.close()


def connect(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect((host, port))
    return s


def open_connections(specs, kept):
    for spec in specs:
        head, _, where = spec.partition('@')
        kind, _, count = head.partition(':')
        hosts, ports = split_address(where)
        for n in range(int(count)):
            # Every address once, then every address again on the next port: distinct destinations first.
            s = connect(hosts[n % len(hosts)], ports[(n // len(hosts)) % len(ports)])
            if kind == 'churn':
                # Our FIN goes first (so this end waits in TIME_WAIT); waiting for the server's FIN before the
                # next connection makes the count exact, however busy the machine is.
                s.shutdown(socket.SHUT_WR)
                while s.recv(4096):
                    pass
                s.close()
            else:
                kept.append(s)


def main(argv):
    name = 'agent'
    ready = None
    control = None
    specs = []
    i = 0
    while i < len(argv):
        if argv[i] == '--name':
            name = argv[i + 1]
            i += 2
        elif argv[i] == '--ready':
            ready = argv[i + 1]
            i += 2
        elif argv[i] == '--control':
            control = argv[i + 1]
            i += 2
        else:
            specs.append(argv[i])
            i += 1
    set_comm(name)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    kept = []
    server = None
    if specs and specs[0] == 'serve':
        server = serve(specs[1:])
    elif specs and specs[0] == 'pause':
        pass
    else:
        open_connections(specs, kept)
    # SIGUSR1: open what the control file asks for (the lab tops up TIME_WAIT sockets that vanished early).
    signal.signal(signal.SIGUSR1, lambda signum, frame: None)
    if ready:
        with open(ready + '.tmp', 'w') as f:
            f.write(str(os.getpid()))
        os.rename(ready + '.tmp', ready)
    if server:
        run_server(server)
    while True:
        signal.pause()
        if control and os.path.exists(control):
            with open(control) as f:
                open_connections(f.read().split(), kept)
            os.rename(control, control + '.done')


main(sys.argv[1:])
