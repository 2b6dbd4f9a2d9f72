import { splitLines } from './lines.js';
import type { NetNamespace } from './records.js';
import { type ParseResult, SkipCollector } from './skipped.js';

/**
 * Reads `lsns -t net` in any of its shapes: the aligned table with any `-o` column set, `-r` raw output,
 * `-n` output without a header, and `-J` JSON (auto-detected), from util-linux versions old and new.
 */
export function parseLsns(text: string): ParseResult<NetNamespace> {
    const skips = new SkipCollector();
    const records = text.trimStart().startsWith('{') ? parseJson(text, skips) : parseTable(text, skips);
    return { records, skipped: skips.result() };
}

const COLUMN_NAMES = new Set([
    'NS',
    'TYPE',
    'PATH',
    'NPROCS',
    'PID',
    'PPID',
    'COMMAND',
    'UID',
    'USER',
    'NETNSID',
    'NSFS',
    'PNS',
    'ONS',
]);
const NS_TYPES = new Set(['net', 'mnt', 'pid', 'uts', 'ipc', 'user', 'cgroup', 'time']);
// util-linux 2.38+ draws the process tree into COMMAND (`└─bash`), in UTF-8 or ASCII (`` `-bash ``).
const TREE_PREFIX = /^[\s│|]*(?:├─|└─|\|-|`-)/u;

interface Column {
    name: string;
    start: number;
    end: number;
}

interface Header {
    columns: Column[];
    /** Raw (`-r`) output and flattened copies separate cells with one space instead of aligning them. */
    aligned: boolean;
}

interface Token {
    text: string;
    start: number;
    end: number;
}

function tokens(line: string): Token[] {
    return [...line.matchAll(/\S+/g)].map((m) => ({ text: m[0], start: m.index, end: m.index + m[0].length }));
}

function readHeader(line: string): Header | undefined {
    const found = tokens(line);
    if (found.length === 0 || !found.some((t) => t.text === 'NS')) return undefined;
    if (!found.every((t) => COLUMN_NAMES.has(t.text))) return undefined;
    return {
        columns: found.map((t) => ({ name: t.text, start: t.start, end: t.end })),
        aligned: line.includes('  ') || line.startsWith(' '),
    };
}

function parseTable(text: string, skips: SkipCollector): NetNamespace[] {
    const records: NetNamespace[] = [];
    let header: Header | undefined;
    splitLines(text).forEach((line, index) => {
        if (line.trim() === '') return;
        const newHeader = readHeader(line);
        if (newHeader) {
            // Several outputs may be concatenated, each with its own column widths.
            header = newHeader;
            return;
        }
        const lineNo = index + 1;
        let cells: Map<string, string> | undefined;
        if (!header) cells = headerlessCells(line);
        else if (header.aligned) cells = alignedCells(line, header.columns);
        else cells = rawCells(line, header.columns);
        if (!cells) {
            skips.skip(lineNo, line, header ? `expected ${header.columns.length} columns` : 'not an lsns line');
            return;
        }
        const record = toRecord(cells, lineNo, line, skips);
        if (record) records.push(record);
    });
    return records;
}

/** Assigns each word to the header column it sits under; words after COMMAND's start belong to COMMAND. */
function alignedCells(line: string, columns: Column[]): Map<string, string> {
    const last = columns[columns.length - 1];
    const commandLast = last?.name === 'COMMAND';
    const spans = new Map<string, { start: number; end: number }>();
    for (const token of tokens(line)) {
        let column: Column | undefined;
        if (commandLast && token.start >= last.start) column = last;
        else column = columnFor(token, columns);
        if (!column) continue;
        const span = spans.get(column.name);
        spans.set(column.name, { start: span ? span.start : token.start, end: token.end });
    }
    const cells = new Map<string, string>();
    for (const [name, span] of spans) cells.set(name, line.slice(span.start, span.end));
    return cells;
}

function columnFor(token: Token, columns: Column[]): Column | undefined {
    let best: Column | undefined;
    let bestOverlap = 0;
    for (const column of columns) {
        const overlap = Math.min(token.end, column.end) - Math.max(token.start, column.start);
        if (overlap > bestOverlap) {
            best = column;
            bestOverlap = overlap;
        }
    }
    if (best) return best;
    // A word under no header belongs to a multi-word cell: the column that starts before it.
    let before = columns[0];
    for (const column of columns) if (column.start <= token.start) before = column;
    return before;
}

function rawCells(line: string, columns: Column[]): Map<string, string> | undefined {
    const fields = line.split(' ');
    const last = columns[columns.length - 1];
    if (fields.length < columns.length) return undefined;
    if (fields.length > columns.length) {
        if (last?.name !== 'COMMAND') return undefined;
        fields.splice(columns.length - 1, fields.length, fields.slice(columns.length - 1).join(' '));
    }
    const cells = new Map<string, string>();
    columns.forEach((column, i) => cells.set(column.name, decodeRaw(fields[i] ?? '')));
    return cells;
}

/** `lsns -r` writes spaces and non-ASCII bytes as \xHH escapes. */
function decodeRaw(value: string): string {
    if (!value.includes('\\x')) return value;
    return value.replace(/(?:\\x[0-9a-fA-F]{2})+/g, (run) => {
        const bytes = Uint8Array.from(run.slice(2).split('\\x'), (hex) => parseInt(hex, 16));
        return new TextDecoder().decode(bytes);
    });
}

/**
 * `lsns -n` prints no header, so the columns are guessed from the words: a namespace type as the second word means
 * the default set (NS TYPE NPROCS PID USER, then NETNSID and NSFS when util-linux has them, then COMMAND); a number
 * means `-o NS,PID,COMMAND`; anything else is NS then COMMAND. NETNSID is taken when the word is a number or
 * `unassigned`, NSFS when the word is a path with a /netns/ directory; an empty NSFS leaves no word, so this is
 * the only way to tell it apart from the command.
 */
function headerlessCells(line: string): Map<string, string> | undefined {
    const words = tokens(line);
    const ns = words[0];
    const second = words[1];
    if (!ns || !second || !/^\d+$/.test(ns.text)) return undefined;
    const cells = new Map<string, string>([['NS', ns.text]]);
    let next = 1;
    if (NS_TYPES.has(second.text)) {
        if (words.length < 6) return undefined;
        ['TYPE', 'NPROCS', 'PID', 'USER'].forEach((name, i) => cells.set(name, words[1 + i]?.text ?? ''));
        next = 5;
        const netnsid = words[next];
        if (netnsid && words.length > next + 1 && /^(?:\d+|unassigned)$/.test(netnsid.text)) {
            cells.set('NETNSID', netnsid.text);
            next++;
        }
        const nsfs = words[next];
        if (nsfs && words.length > next + 1 && /^\/\S*\/netns\//.test(nsfs.text)) {
            cells.set('NSFS', nsfs.text);
            next++;
        }
    } else if (/^\d+$/.test(second.text)) {
        cells.set('PID', second.text);
        next = 2;
    }
    const command = words[next];
    if (command) cells.set('COMMAND', line.slice(command.start).trimEnd());
    return cells;
}

function toRecord(cells: Map<string, string>, lineNo: number, line: string, skips: SkipCollector) {
    return buildRecord(
        {
            ns: cells.get('NS'),
            type: cells.get('TYPE'),
            pid: cells.get('PID'),
            nprocs: cells.get('NPROCS'),
            user: cells.get('USER'),
            netnsid: cells.get('NETNSID'),
            nsfs: cells.get('NSFS'),
            command: cells.get('COMMAND'),
        },
        (reason) => {
            skips.skip(lineNo, line, reason);
        },
    );
}

interface RawFields {
    ns: unknown;
    type: unknown;
    pid: unknown;
    nprocs: unknown;
    user: unknown;
    netnsid: unknown;
    nsfs: unknown;
    command: unknown;
}

function buildRecord(raw: RawFields, skip: (reason: string) => void): NetNamespace | undefined {
    const ns = scalar(raw.ns);
    if (ns === undefined || !/^\d+$/.test(ns)) {
        skip('NS is not a namespace inode number');
        return undefined;
    }
    const type = scalar(raw.type);
    if (type !== undefined && type !== 'net') {
        skip(`a ${type} namespace, not net`);
        return undefined;
    }
    const pidText = scalar(raw.pid);
    if (pidText !== undefined && !/^\d+$/.test(pidText)) {
        skip('PID is not a number');
        return undefined;
    }
    const record: NetNamespace = { ns };
    if (pidText !== undefined) record.pid = Number(pidText);
    const nprocs = scalar(raw.nprocs);
    if (nprocs !== undefined && /^\d+$/.test(nprocs)) record.nprocs = Number(nprocs);
    const user = scalar(raw.user);
    if (user) record.user = user;
    const netnsid = scalar(raw.netnsid);
    // `unassigned` means the namespace has no ID in the namespace lsns ran in.
    if (netnsid && netnsid !== 'unassigned') record.netnsid = netnsid;
    const nsfs = scalar(raw.nsfs);
    if (nsfs) record.nsfs = nsfs;
    const command = scalar(raw.command)?.replace(TREE_PREFIX, '').trim();
    if (command) record.command = command;
    return record;
}

/** lsns -J prints numbers as numbers or strings depending on the util-linux version; null for empty cells. */
function scalar(value: unknown): string | undefined {
    if (typeof value === 'string') return value.trim();
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    return undefined;
}

function parseJson(input: string, skips: SkipCollector): NetNamespace[] {
    let root: unknown;
    try {
        root = JSON.parse(input);
    } catch (err) {
        skips.skip(jsonErrorLine(input, err), input.trim().split('\n', 1)[0] ?? '', jsonErrorReason(input, err));
        return [];
    }
    const namespaces = isObject(root) ? root.namespaces : undefined;
    if (!Array.isArray(namespaces)) {
        skips.skip(1, input.trim().slice(0, 200), 'JSON without a "namespaces" array');
        return [];
    }
    const records: NetNamespace[] = [];
    // util-linux 2.38+ nests namespaces under "children" when their processes are parent and child.
    const visit = (items: unknown[]): void => {
        for (const item of items) {
            if (!isObject(item)) {
                skips.skip(0, preview(item), 'namespace entry is not an object');
                continue;
            }
            const record = buildRecord(
                {
                    ns: item.ns,
                    type: item.type,
                    pid: item.pid,
                    nprocs: item.nprocs,
                    user: item.user,
                    netnsid: item.netnsid,
                    nsfs: item.nsfs,
                    command: item.command,
                },
                (reason) => {
                    skips.skip(0, preview({ ...item, children: undefined }), reason);
                },
            );
            if (record) records.push(record);
            if (Array.isArray(item.children)) visit(item.children);
        }
    };
    visit(namespaces);
    return records;
}

function preview(value: unknown): string {
    // JSON.stringify returns undefined for these, whatever its type says.
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return String(value);
    return JSON.stringify(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// V8 names the position in most messages; for a cut-off document the position is the end.
function jsonErrorReason(input: string, err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    const cutOff = message.startsWith('Unexpected end');
    return `invalid JSON: ${message}${cutOff ? ` at position ${input.length}` : ''}`;
}

function jsonErrorLine(input: string, err: unknown): number {
    const message = err instanceof Error ? err.message : '';
    const position = /position (\d+)/.exec(message)?.[1];
    if (position === undefined && !message.startsWith('Unexpected end')) return 1;
    return input.slice(0, position === undefined ? input.length : Number(position)).split('\n').length;
}
