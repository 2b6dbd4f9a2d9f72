"""Plays the processes of the node lab (test/lab/nodeLab.ts): a server on the "internet", and every pod's pause
and application. Traffic only ever goes to addresses inside the lab's own network namespaces.

    agent.py --name COMM --ready FILE serve ADDR:PORT...
    agent.py --name COMM spawn PLAN NODE_PID

serve listens on each address and closes a connection once the client has closed its side; the ready file gets
the PID once it listens.

spawn builds a whole node's processes from one warm interpreter (starting hundreds of Pythons took minutes on a
shared machine): PLAN is a JSON list of {"netns", "cgroup", "name", "control", "specs", "pause_cgroup"}. It opens
every namespace and cgroup file first (the node's mount namespace has a /sys without the cgroup mount), joins the
PID, mount and network namespaces of NODE_PID, and forks a process per entry: a pod's pause (when pause_cgroup is
set), which forks the pod's app, or a node process's app. Each enters its network namespace, moves itself into its
cgroup, opens its connections and prints `ready INDEX ROLE` (or `error INDEX ROLE: TEXT`) on stdout. The pause is
the app's parent, so it has the lower PID, as lsns expects of a sandbox.

An app's specs are hold:N@ADDR[-LAST]:PORT[-PORT] (N connections opened and kept; addresses and ports of ranges
used in turn) and churn:N@ADDR:PORT (N connections closed at once from the client side, so the client's end waits
in TIME_WAIT). On SIGUSR1 an app opens what its control file lists (same syntax), then renames the file to
FILE.done.
"""
import ctypes
import json
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


def finish_churn(churned):
    """Waits for the server's FIN on every churned socket, then closes them: each client end is then in TIME_WAIT,
    so the count is exact however busy the machine is. All at once: one server wake-up each would take seconds."""
    sel = selectors.DefaultSelector()
    for s in churned:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    left = len(churned)
    while left:
        events = sel.select(timeout=30)
        if not events:
            raise TimeoutError('%d churned connections got no FIN from the server' % left)
        for key, _ in events:
            try:
                data = key.fileobj.recv(4096)
            except BlockingIOError:
                continue
            if not data:
                sel.unregister(key.fileobj)
                key.fileobj.close()
                left -= 1


def open_connections(specs, kept):
    churned = []
    for spec in specs:
        head, _, where = spec.partition('@')
        kind, _, count = head.partition(':')
        hosts, ports = split_address(where)
        for n in range(int(count)):
            # Every address once, then every address again on the next port: distinct destinations first.
            s = connect(hosts[n % len(hosts)], ports[(n // len(hosts)) % len(ports)])
            if kind == 'churn':
                # Our FIN goes first, so this end waits in TIME_WAIT.
                s.shutdown(socket.SHUT_WR)
                churned.append(s)
            else:
                kept.append(s)
    finish_churn(churned)


CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000


def setns(fd, kind, what):
    if ctypes.CDLL(None, use_errno=True).setns(fd, kind) != 0:
        raise OSError(ctypes.get_errno(), 'setns ' + what)


def join_cgroup(procs_fd):
    # "0" is the writing process itself, so no PID has to cross the PID namespace.
    os.write(procs_fd, b'0')


def report(line):
    os.write(1, (line + '\n').encode())


def wait_for_control(control, kept):
    while True:
        signal.pause()
        if control and os.path.exists(control):
            with open(control) as f:
                open_connections(f.read().split(), kept)
            os.rename(control, control + '.done')


def run_app(index, entry, fds, all_fds):
    join_cgroup(fds['cgroup'])
    # Another pod's namespace or cgroup held open here would outlive that pod.
    for fd in all_fds:
        os.close(fd)
    set_comm(entry['name'])
    kept = []
    open_connections(entry['specs'], kept)
    report('ready %d app' % index)
    wait_for_control(entry.get('control'), kept)


def run_entry(index, entry, fds, all_fds):
    """A pod's pause process, which forks the pod's app (so the app has the higher PID), or a node process."""
    role = 'pause' if fds['pause_cgroup'] is not None else 'app'
    try:
        setns(fds['netns'], CLONE_NEWNET, entry['netns'])
        if role == 'app':
            run_app(index, entry, fds, all_fds)
        join_cgroup(fds['pause_cgroup'])
        if os.fork() == 0:
            role = 'app'
            run_app(index, entry, fds, all_fds)
        for fd in all_fds:
            os.close(fd)
        set_comm('pause')
        report('ready %d pause' % index)
        wait_for_control(None, [])
    except BaseException as error:  # noqa: BLE001 - the lab must hear of any failure
        report('error %d %s: %s' % (index, role, str(error).replace('\n', ' ')))
    finally:
        os._exit(1)


def spawn_range(plan, fds, all_fds, low, high):
    """Halves the range until one entry is left. Under load every fork waits its turn for a CPU (tens of ms here),
    so a tree keeps the longest chain of forks at about log2(n) instead of n."""
    try:
        while high - low > 1:
            middle = (low + high) // 2
            if os.fork() == 0:
                low = middle
            else:
                high = middle
    except BaseException as error:  # noqa: BLE001
        report('error %d spawn: %s' % (low, error))
        os._exit(1)
    run_entry(low, plan[low], fds[low], all_fds)


def spawn(plan_file, node_pid):
    with open(plan_file) as f:
        plan = json.load(f)
    opened = {}

    def fd_of(path, flags):
        if path not in opened:
            opened[path] = os.open(path, flags)
        return opened[path]

    fds = [
        {
            'netns': fd_of(entry['netns'], os.O_RDONLY),
            'cgroup': fd_of(entry['cgroup'], os.O_WRONLY),
            'pause_cgroup': fd_of(entry['pause_cgroup'], os.O_WRONLY) if entry.get('pause_cgroup') else None,
        }
        for entry in plan
    ]
    for kind, flag in (('pid', CLONE_NEWPID), ('net', CLONE_NEWNET), ('mnt', CLONE_NEWNS)):
        path = '/proc/%s/ns/%s' % (node_pid, kind)
        fd = os.open(path, os.O_RDONLY)
        setns(fd, flag, path)
        os.close(fd)
    os.chdir('/')
    signal.signal(signal.SIGUSR1, lambda signum, frame: None)
    # Children are reaped by the kernel: the lab kills them with SIGKILL at the end.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    if plan and os.fork() == 0:
        spawn_range(plan, fds, list(opened.values()), 0, len(plan))
    for fd in opened.values():
        os.close(fd)
    while True:
        signal.pause()


def main(argv):
    name = 'agent'
    ready = None
    specs = []
    i = 0
    while i < len(argv):
        if argv[i] == '--name':
            name = argv[i + 1]
            i += 2
        elif argv[i] == '--ready':
            ready = argv[i + 1]
            i += 2
        else:
            specs.append(argv[i])
            i += 1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    set_comm(name)
    if specs[:1] == ['spawn']:
        spawn(specs[1], specs[2])
    elif specs[:1] == ['serve']:
        server = serve(specs[1:])
        with open(ready + '.tmp', 'w') as f:
            f.write(str(os.getpid()))
        os.rename(ready + '.tmp', ready)
        run_server(server)
    else:
        raise SystemExit('agent.py: expected serve or spawn, got %r' % specs[:1])


main(sys.argv[1:])
