import { splitLines } from './lines.js';
import type { CriContainer, CrictlResult, CriPod } from './records.js';
import { SkipCollector } from './skipped.js';

/**
 * Reads `crictl ps [-a]` and `crictl pods` tables (old and new column sets, several outputs concatenated) and
 * their `-o json` forms (one JSON document or several back to back), telling them apart by the header or keys.
 * Table states stay as printed (Running, Ready); JSON states are turned into the same words. CREATED is kept as
 * printed in tables (`6 hours ago`) and becomes an ISO time from JSON's nanosecond `createdAt`.
 */
export function parseCrictl(text: string): CrictlResult {
    const skips = new SkipCollector();
    const result: CrictlResult = { containers: [], pods: [], skipped: { lines: 0, examples: [] } };
    if (text.trimStart().startsWith('{')) readJsonDocuments(text, skips, result);
    else readTables(text, skips, result);
    result.skipped = skips.result();
    return result;
}

type TableKind = 'containers' | 'pods';

interface Column {
    name: string;
    start: number;
}

interface Header {
    kind: TableKind;
    columns: Column[];
    /** Real tabwriter output; false for copies that lost their alignment (one space between cells). */
    aligned: boolean;
}

const COLUMN_WORDS = new Set([
    'CONTAINER',
    'IMAGE',
    'CREATED',
    'STATE',
    'NAME',
    'ATTEMPT',
    'POD',
    'NAMESPACE',
    'RUNTIME',
]);
const TWO_WORD_COLUMNS = new Set(['CONTAINER ID', 'POD ID', 'IMAGE ID', 'SANDBOX ID']);
// IDs are hex; runbook-style masking replaces digits with x.
const ID = /^[0-9a-fx]+$/i;

function readTables(text: string, skips: SkipCollector, result: CrictlResult): void {
    let header: Header | undefined;
    splitLines(text).forEach((line, index) => {
        const lineNo = index + 1;
        if (line.trim() === '') return;
        const found = readHeader(line);
        if (found) {
            header = found.header;
            // A copy flattened onto one line carries its rows after the header words.
            if (found.rest.length > 0) readTokenRows(found.rest, header, lineNo, line, skips, result);
            return;
        }
        if (!header) {
            skips.skip(lineNo, line, 'no CONTAINER or POD ID header before this line');
            return;
        }
        const cells = header.aligned ? alignedCells(line, header.columns) : undefined;
        if (cells) addRow(header.kind, cells, lineNo, line, skips, result);
        else readTokenRows(words(line), header, lineNo, line, skips, result);
    });
}

function words(line: string): string[] {
    return line.split(/\s+/).filter((w) => w !== '');
}

function readHeader(line: string): { header: Header; rest: string[] } | undefined {
    const trimmed = line.trim();
    if (!/^(?:CONTAINER|POD ID|SANDBOX ID)\b/.test(trimmed)) return undefined;
    if (/\S {2,}\S/.test(trimmed)) {
        const columns = [...line.matchAll(/\S+(?: \S+)*/g)].map((m) => ({ name: m[0], start: m.index }));
        if (!columns.every((c) => COLUMN_WORDS.has(c.name) || TWO_WORD_COLUMNS.has(c.name))) return undefined;
        return { header: { kind: kindOf(columns), columns, aligned: true }, rest: [] };
    }
    const tokens = words(line);
    const columns: Column[] = [];
    let i = 0;
    while (i < tokens.length) {
        const pair = `${tokens[i] ?? ''} ${tokens[i + 1] ?? ''}`;
        if (TWO_WORD_COLUMNS.has(pair)) {
            columns.push({ name: pair, start: -1 });
            i += 2;
        } else if (COLUMN_WORDS.has(tokens[i] ?? '')) {
            columns.push({ name: tokens[i] ?? '', start: -1 });
            i++;
        } else break;
    }
    if (columns.length < 2) return undefined;
    return { header: { kind: kindOf(columns), columns, aligned: false }, rest: tokens.slice(i) };
}

function kindOf(columns: Column[]): TableKind {
    return columns[0]?.name.startsWith('CONTAINER') ? 'containers' : 'pods';
}

/** tabwriter left-aligns every cell at its header's column; undefined when the line does not fit that grid. */
function alignedCells(line: string, columns: Column[]): Map<string, string> | undefined {
    // crictl never leaves the last cell empty (`unknown`, `(default)`, a number), so a short line is not a row.
    if (line.length <= (columns[columns.length - 1]?.start ?? 0)) return undefined;
    const cells = new Map<string, string>();
    for (let i = 0; i < columns.length; i++) {
        const column = columns[i] as Column;
        const next = columns[i + 1];
        if (column.start > 0 && line.length > column.start && line[column.start - 1] !== ' ') return undefined;
        cells.set(column.name, line.slice(column.start, next ? next.start : undefined).trim());
    }
    return cells;
}

/**
 * Reads rows from words alone: every cell is one word except CREATED, which runs to its closing `ago`
 * (go-units durations: `6 hours ago`, `About a minute ago`, `Less than a second ago`).
 */
function readTokenRows(
    tokens: string[],
    header: Header,
    lineNo: number,
    line: string,
    skips: SkipCollector,
    result: CrictlResult,
): void {
    let i = 0;
    while (i < tokens.length) {
        const cells = new Map<string, string>();
        for (const column of header.columns) {
            if (i >= tokens.length) {
                skips.skip(lineNo, line, `expected ${header.columns.length} columns`);
                return;
            }
            let end = i + 1;
            if (column.name === 'CREATED') {
                const ago = tokens.indexOf('ago', i);
                if (ago !== -1) end = ago + 1;
            }
            cells.set(column.name, tokens.slice(i, end).join(' '));
            i = end;
        }
        addRow(header.kind, cells, lineNo, line, skips, result);
    }
}

function addRow(
    kind: TableKind,
    cells: Map<string, string>,
    lineNo: number,
    line: string,
    skips: SkipCollector,
    result: CrictlResult,
): void {
    const attempt = cells.get('ATTEMPT');
    if (attempt !== undefined && !/^\d+$/.test(attempt)) {
        skips.skip(lineNo, line, 'ATTEMPT is not a number');
        return;
    }
    if (kind === 'containers') {
        const id = cells.get('CONTAINER') ?? cells.get('CONTAINER ID') ?? '';
        const podId = cells.get('POD ID');
        if (!ID.test(id) || (podId !== undefined && !ID.test(podId))) {
            skips.skip(lineNo, line, 'CONTAINER or POD ID is not an ID');
            return;
        }
        const container: CriContainer = { id };
        assign(container, 'image', cells.get('IMAGE'));
        assign(container, 'created', cells.get('CREATED'));
        assign(container, 'state', cells.get('STATE'));
        assign(container, 'name', cells.get('NAME'));
        if (attempt !== undefined) container.attempt = Number(attempt);
        assign(container, 'podId', podId);
        // crictl prints `unknown` when the container has no pod name or namespace label.
        assign(container, 'podName', known(cells.get('POD')));
        assign(container, 'podNamespace', known(cells.get('NAMESPACE')));
        result.containers.push(container);
        return;
    }
    const id = cells.get('POD ID') ?? cells.get('SANDBOX ID') ?? '';
    if (!ID.test(id)) {
        skips.skip(lineNo, line, 'POD ID is not an ID');
        return;
    }
    const pod: CriPod = { id };
    assign(pod, 'name', cells.get('NAME'));
    assign(pod, 'namespace', cells.get('NAMESPACE'));
    assign(pod, 'state', cells.get('STATE'));
    result.pods.push(pod);
}

function known(value: string | undefined): string | undefined {
    return value === 'unknown' ? undefined : value;
}

function assign<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
    if (value !== undefined && value !== '') target[key] = value;
}

/** Splits back-to-back JSON documents (`crictl ps -o json; crictl pods -o json`) and reads each. */
function readJsonDocuments(text: string, skips: SkipCollector, result: CrictlResult): void {
    let i = 0;
    while (i < text.length) {
        const ch = text[i] ?? '';
        if (/\s/.test(ch)) {
            i++;
            continue;
        }
        if (ch !== '{' && ch !== '[') {
            const end = text.indexOf('\n', i);
            const stop = end === -1 ? text.length : end;
            skips.skip(lineAt(text, i), text.slice(i, stop), 'text outside the JSON documents');
            i = stop;
            continue;
        }
        const end = documentEnd(text, i);
        const source = text.slice(i, end);
        let doc: unknown;
        try {
            doc = JSON.parse(source);
        } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            const position = /position (\d+)/.exec(message)?.[1];
            const cutOff = position === undefined && message.startsWith('Unexpected end');
            // V8 counts from the start of this document; the input may hold several.
            const offset = i + (position !== undefined ? Number(position) : cutOff ? source.length : 0);
            const where = position !== undefined || cutOff ? ` at input position ${offset}` : '';
            skips.skip(lineAt(text, offset), source.split('\n', 1)[0] ?? '', `invalid JSON: ${message}${where}`);
            i = end;
            continue;
        }
        readJsonDocument(doc, skips, result, lineAt(text, i));
        i = end;
    }
}

/** Where the value opened at `start` closes (or the end of the text when it never does). */
function documentEnd(text: string, start: number): number {
    let depth = 0;
    let inString = false;
    for (let i = start; i < text.length; i++) {
        const ch = text[i];
        if (inString) {
            if (ch === '\\') i++;
            else if (ch === '"') inString = false;
        } else if (ch === '"') inString = true;
        else if (ch === '{' || ch === '[') depth++;
        else if (ch === '}' || ch === ']') {
            depth--;
            if (depth === 0) return i + 1;
        }
    }
    return text.length;
}

function lineAt(text: string, offset: number): number {
    let line = 1;
    for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
    return line;
}

function readJsonDocument(doc: unknown, skips: SkipCollector, result: CrictlResult, line: number): void {
    if (isObject(doc) && Array.isArray(doc.containers)) {
        for (const item of doc.containers) {
            const container = jsonContainer(item);
            if (typeof container === 'string') skips.skip(line, preview(item), container);
            else result.containers.push(container);
        }
    } else if (isObject(doc) && Array.isArray(doc.items)) {
        for (const item of doc.items) {
            const pod = jsonPod(item);
            if (typeof pod === 'string') skips.skip(line, preview(item), pod);
            else result.pods.push(pod);
        }
    } else {
        skips.skip(line, preview(doc), 'JSON without "containers" (crictl ps) or "items" (crictl pods)');
    }
}

const STATE_WORDS: Record<string, string> = {
    CONTAINER_CREATED: 'Created',
    CONTAINER_RUNNING: 'Running',
    CONTAINER_EXITED: 'Exited',
    CONTAINER_UNKNOWN: 'Unknown',
    SANDBOX_READY: 'Ready',
    SANDBOX_NOTREADY: 'NotReady',
};

function jsonContainer(item: unknown): CriContainer | string {
    if (!isObject(item)) return 'container entry is not an object';
    const id = str(item.id);
    if (!id) return 'container without an id';
    const metadata = isObject(item.metadata) ? item.metadata : {};
    const labels = isObject(item.labels) ? item.labels : {};
    const container: CriContainer = { id };
    assign(container, 'name', str(metadata.name));
    assign(container, 'image', isObject(item.image) ? str(item.image.image) : undefined);
    assign(container, 'state', state(item.state));
    const attempt = int(metadata.attempt);
    if (attempt !== undefined) container.attempt = attempt;
    assign(container, 'podId', str(item.podSandboxId));
    assign(container, 'podName', str(labels['io.kubernetes.pod.name']));
    assign(container, 'podNamespace', str(labels['io.kubernetes.pod.namespace']));
    assign(container, 'podUid', str(labels['io.kubernetes.pod.uid']));
    assign(container, 'created', created(item.createdAt));
    return container;
}

function jsonPod(item: unknown): CriPod | string {
    if (!isObject(item)) return 'pod entry is not an object';
    const id = str(item.id);
    if (!id) return 'pod without an id';
    const metadata = isObject(item.metadata) ? item.metadata : {};
    const pod: CriPod = { id };
    assign(pod, 'name', str(metadata.name));
    assign(pod, 'namespace', str(metadata.namespace));
    assign(pod, 'uid', str(metadata.uid));
    assign(pod, 'state', state(item.state));
    return pod;
}

function state(value: unknown): string | undefined {
    const name = str(value);
    return name === undefined ? undefined : (STATE_WORDS[name] ?? name);
}

/** protojson prints int64 nanoseconds as a string; `crictl inspect` prints RFC 3339 text, kept as is. */
function created(value: unknown): string | undefined {
    const text = typeof value === 'number' ? String(value) : str(value);
    if (text === undefined || !/^\d+$/.test(text)) return text;
    const date = new Date(Number(BigInt(text) / 1_000_000n));
    return Number.isNaN(date.getTime()) ? text : date.toISOString();
}

function str(value: unknown): string | undefined {
    return typeof value === 'string' && value !== '' ? value : undefined;
}

function int(value: unknown): number | undefined {
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
    return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function preview(value: unknown): string {
    // JSON.stringify returns undefined for these, whatever its type says.
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return String(value);
    return JSON.stringify(value);
}
