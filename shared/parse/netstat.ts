import { addressProblem, splitHostPort } from './address.js';
import { splitLines } from './lines.js';
import type { SocketRecord } from './records.js';
import { type ParseResult, SkipCollector } from './skipped.js';
import { normalizeSocketState } from './ss.js';

export interface NetstatOptions {
    /**
     * The output came from `netstat -W`. Without -W netstat cuts addresses so that `address:port` fits 23
     * characters, which leaves some IPv6 addresses shorter but still valid-looking; such lines are skipped unless
     * this is set or the output itself shows a longer address.
     */
    wide?: boolean;
}

const COLUMN_WIDTH = 23;
const PROTOCOLS: Readonly<Record<string, 'tcp' | 'udp'>> = { tcp: 'tcp', tcp6: 'tcp', udp: 'udp', udp6: 'udp' };
const OTHER_PROTOCOLS = /^(?:unix|raw6?|udpl6?|sctp6?|ax25|ipx|netrom|rose|x25|ddp|bluetooth)\s/;
const LEADING_COLUMNS = /^(\S+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)(?:\s+(.*))?$/;
// -o appends a timer column after PID/Program name: "off (0.00/0/0)", "keepalive (7188.94/0/0)".
const TIMER = /\s*\b(?:off|on|keepalive|timewait|probe|unkn-\d+)\s+\([^)]*\)\s*$/;

/**
 * Parses `netstat -ptn`, `-tan`, `-tunap` (tcp, tcp6, udp, udp6), with or without headers, as the runbook's
 * `netstat -ptn | grep -i established` leaves it. Masked lines such as the runbook's
 * `tcp 0 0 10.x.x.x:xxxx 20.x.x.x:443 ESTABLISHED xxxxx3/telnet` are skipped as "masked address".
 */
export function parseNetstat(text: string, options: NetstatOptions = {}): ParseResult<SocketRecord> {
    const records: SocketRecord[] = [];
    const skipped = new SkipCollector();
    const lines = splitLines(text);
    const wide = options.wide ?? lines.some(showsWideAddress);
    for (let index = 0; index < lines.length; index++) {
        const line = lines[index] ?? '';
        const trimmed = line.trim();
        if (trimmed === '' || isNetstatHeader(trimmed)) continue;
        const result = parseNetstatLine(trimmed, wide);
        if (typeof result === 'string') skipped.skip(index + 1, line, result);
        else records.push(result);
    }
    return { records, skipped: skipped.result() };
}

/** Title, column header and the notices netstat -p prints when it runs without root. */
export function isNetstatHeader(trimmed: string): boolean {
    return (
        trimmed.startsWith('Active ') ||
        /^Proto\s+Recv-Q/.test(trimmed) ||
        /^Proto\s+RefCnt/.test(trimmed) ||
        trimmed.startsWith('(Not all processes could be identified') ||
        trimmed.startsWith('(No info could be read') ||
        trimmed.startsWith('will not be shown, you would have to be root')
    );
}

function parseNetstatLine(trimmed: string, wide: boolean): SocketRecord | string {
    if (OTHER_PROTOCOLS.test(trimmed)) return `unsupported protocol ${trimmed.split(/\s/, 1)[0] ?? ''}`;
    const columns = LEADING_COLUMNS.exec(trimmed);
    if (columns === null) return 'not a netstat socket line';
    const [, proto = '', , , localText = '', foreignText = '', rest = ''] = columns;
    const protocol = PROTOCOLS[proto];
    if (protocol === undefined) return `unsupported protocol ${proto}`;

    const local = splitHostPort(localText);
    if (local === undefined) return addressProblem(localText);
    const foreign = splitHostPort(foreignText);
    if (foreign === undefined) return addressProblem(foreignText);
    if (!wide && (mayBeCut(localText) || mayBeCut(foreignText))) {
        return 'IPv6 address may be cut short (netstat without -W)';
    }

    let tail = rest.replace(TIMER, '');
    let rawState = '';
    const firstWord = /^([A-Z][A-Z0-9_]*)(?:\s+|$)/.exec(tail);
    if (firstWord?.[1] !== undefined) {
        rawState = firstWord[1];
        tail = tail.slice(firstWord[0].length);
    } else if (protocol === 'tcp') {
        return 'missing TCP state';
    }
    const state = protocol === 'udp' && rawState === '' ? 'UNCONN' : normalizeSocketState(rawState, protocol);

    const record: SocketRecord = {
        protocol,
        state,
        localAddress: local.host,
        localPort: local.port,
        remoteAddress: foreign.host,
        remotePort: foreign.port,
    };
    const owner = pidProgram(tail);
    if (owner !== undefined) {
        record.process = owner.process;
        if (owner.pid !== undefined) record.pid = owner.pid;
    }
    return record;
}

/**
 * The PID/Program name column: `1234/curl`, `9527/pod worker`, `-`, or masked `xxxxx3/telnet` (process only).
 * With -e it follows User and Inode, so look for the first token that has a slash.
 */
function pidProgram(tail: string): { pid?: number; process: string } | undefined {
    const match = /(?:^|\s)([^\s/]+)\/(.*)$/.exec(tail);
    if (match === null) return undefined;
    const [, pidText = '', name = ''] = match;
    const process = name.trim();
    if (process === '') return undefined;
    return /^\d+$/.test(pidText) ? { pid: Number(pidText), process } : { process };
}

/** An IPv6 `address:port` filling netstat's whole column may have lost the end of its address. */
function mayBeCut(token: string): boolean {
    return token.length === COLUMN_WIDTH && token.indexOf(':') !== token.lastIndexOf(':');
}

function showsWideAddress(line: string): boolean {
    const columns = LEADING_COLUMNS.exec(line.trim());
    if (columns === null) return false;
    return (columns[4] ?? '').length > COLUMN_WIDTH || (columns[5] ?? '').length > COLUMN_WIDTH;
}
