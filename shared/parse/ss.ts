import { addressProblem, splitHostPort } from './address.js';
import { splitLines } from './lines.js';
import type { SocketRecord } from './records.js';
import { type ParseResult, SkipCollector } from './skipped.js';

export interface SsOptions {
    /**
     * The state ss was filtered on (`ss -tn state established` -> 'established'). With a single-state filter ss
     * drops the State column, so without this the records get state UNKNOWN.
     */
    state?: string;
    /** Protocol of the sockets when ss printed no Netid column (it omits it when only -t or only -u was asked). */
    protocol?: 'tcp' | 'udp';
}

const STATE_NAMES: Readonly<Record<string, string>> = {
    ESTAB: 'ESTABLISHED',
    ESTABLISHED: 'ESTABLISHED',
    SYN_SENT: 'SYN_SENT',
    SYN_RECV: 'SYN_RECV',
    NEW_SYN_RECV: 'SYN_RECV',
    FIN_WAIT_1: 'FIN_WAIT1',
    FIN_WAIT1: 'FIN_WAIT1',
    FIN_WAIT_2: 'FIN_WAIT2',
    FIN_WAIT2: 'FIN_WAIT2',
    TIME_WAIT: 'TIME_WAIT',
    CLOSE_WAIT: 'CLOSE_WAIT',
    LAST_ACK: 'LAST_ACK',
    CLOSING: 'CLOSING',
    CLOSE: 'CLOSE',
    CLOSED: 'CLOSE',
    LISTEN: 'LISTEN',
    LISTENING: 'LISTEN',
    UNCONN: 'UNCONN',
    UNKNOWN: 'UNKNOWN',
};

/**
 * netstat's name for a socket state printed by ss (ESTAB, TIME-WAIT, FIN-WAIT-1) or netstat, or given as an ss
 * state filter (established, time-wait, listening). ss calls every closed socket UNCONN: that is CLOSE for TCP.
 * Anything else is UNKNOWN.
 */
export function normalizeSocketState(raw: string, protocol: 'tcp' | 'udp' = 'tcp'): string {
    const name = STATE_NAMES[raw.trim().toUpperCase().replaceAll('-', '_')] ?? 'UNKNOWN';
    if (protocol === 'udp') return name === 'ESTABLISHED' ? name : name === 'UNKNOWN' ? name : 'UNCONN';
    return name === 'UNCONN' ? 'CLOSE' : name;
}

const NETID = /^[a-z][a-z0-9_]*$/;
const STATE = /^[A-Z][A-Z0-9_-]*$/;
const QUEUE = /^\d+$/;

/**
 * Parses `ss -tan`, `ss -tanp`, `ss -tuan`, `ss -H ...` and state-filtered output (`ss -tn state established`)
 * into sockets. Lines that are not TCP or UDP sockets (raw, unix, ss -i detail lines, errors) are skipped.
 */
export function parseSs(text: string, options: SsOptions = {}): ParseResult<SocketRecord> {
    const records: SocketRecord[] = [];
    const skipped = new SkipCollector();
    const lines = splitLines(text);
    for (let index = 0; index < lines.length; index++) {
        const line = lines[index] ?? '';
        const trimmed = line.trim();
        if (trimmed === '' || isSsHeader(trimmed)) continue;
        const result = parseSsLine(trimmed, options);
        if (typeof result !== 'string') records.push(result);
        // -i, -m and -e print details on the next line, indented.
        else if (/^\s/.test(line)) skipped.skip(index + 1, line, 'detail line, not a socket');
        else skipped.skip(index + 1, line, result);
    }
    return { records, skipped: skipped.result() };
}

/** Header lines ss prints (also with a state filter, where the first column is Recv-Q). */
export function isSsHeader(trimmed: string): boolean {
    return /^(?:Netid|State|Recv-Q)\s/.test(trimmed);
}

function parseSsLine(trimmed: string, options: SsOptions): SocketRecord | string {
    const tokens = trimmed.split(/\s+/);
    let i = 0;
    let netid: string | undefined;
    if (NETID.test(tokens[0] ?? '')) {
        netid = tokens[0];
        i++;
    }
    let rawState: string | undefined;
    if (STATE.test(tokens[i] ?? '')) {
        rawState = tokens[i];
        i++;
    }
    if (!QUEUE.test(tokens[i] ?? '') || !QUEUE.test(tokens[i + 1] ?? '')) return 'not an ss socket line';
    const localText = tokens[i + 2];
    const peerText = tokens[i + 3];
    if (localText === undefined || peerText === undefined) return 'missing address columns';

    let protocol: 'tcp' | 'udp';
    if (netid === undefined) protocol = options.protocol ?? 'tcp';
    else if (netid === 'tcp' || netid === 'udp') protocol = netid;
    else return `unsupported protocol ${netid}`;

    const local = splitHostPort(localText);
    if (local === undefined) return addressProblem(localText);
    const peer = splitHostPort(peerText);
    if (peer === undefined) return addressProblem(peerText);

    let state = 'UNKNOWN';
    if (rawState !== undefined) state = normalizeSocketState(rawState, protocol);
    else if (options.state !== undefined) state = normalizeSocketState(options.state, protocol);

    const record: SocketRecord = {
        protocol,
        state,
        localAddress: local.host,
        localPort: local.port,
        remoteAddress: peer.host,
        remotePort: peer.port,
    };
    const owner = firstUser(trimmed);
    if (owner !== undefined) {
        record.process = owner.process;
        if (owner.pid !== undefined) record.pid = owner.pid;
    }
    return record;
}

/** The first process of `users:(("comm",pid=123,fd=4),("other",pid=5,fd=6))`; comm may hold spaces and commas. */
function firstUser(line: string): { process: string; pid?: number } | undefined {
    const start = line.indexOf('users:(("');
    if (start === -1) return undefined;
    const nameStart = start + 'users:(("'.length;
    const nameEnd = line.indexOf('",', nameStart);
    if (nameEnd === -1) return undefined;
    const process = line.slice(nameStart, nameEnd);
    // Before iproute2 4.1 the pid had no `pid=` label: users:(("sshd",123,3)).
    const pid = /^",(?:pid=)?(\d+)/.exec(line.slice(nameEnd, nameEnd + 20));
    return pid?.[1] === undefined ? { process } : { process, pid: Number(pid[1]) };
}
