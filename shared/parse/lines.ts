/**
 * Splits text into lines, accepting LF, CRLF and a last line without a newline
 * (tool output stopped with Ctrl-C often ends mid-line).
 */
export function splitLines(text: string): string[] {
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    for (let i = 0; i < lines.length; i++) {
        const line = lines[i];
        if (line?.endsWith('\r')) lines[i] = line.slice(0, -1);
    }
    return lines;
}

/** The longest line a reader keeps, in characters: a longer one is skipped, so one line cannot fill the memory. */
export const MAX_LINE_LENGTH = 1 << 20;

/** How many characters of a skipped long line are kept to show it (SkipCollector shows 200). */
const LONG_LINE_START = 201;

/**
 * Cuts a stream of chunks (UTF-8 bytes or text) into lines as in splitLines, in time linear in the input: a line
 * that spans many chunks is joined once, at its end. A line longer than `maxLength` is not kept: `onLongLine`
 * gets its first characters and its length in its place.
 */
export class LineSplitter {
    private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    private pieces: string[] = [];
    private length = 0;
    private long = false;

    constructor(
        private readonly onLine: (line: string) => void,
        private readonly onLongLine: (start: string, length: number) => void,
        private readonly maxLength = MAX_LINE_LENGTH,
    ) {}

    push(chunk: Uint8Array | string): void {
        const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
        let start = 0;
        for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
            this.add(text, start, newline);
            this.finish();
            start = newline + 1;
        }
        this.add(text, start, text.length);
    }

    /** Hands over the last line; true when the input ended without a newline after it. */
    end(): boolean {
        this.add(this.decoder.decode(), 0);
        if (this.length === 0 && !this.long) return false;
        const last = this.pieces.join('');
        if (!this.long && (last === '\r' || last === '')) {
            this.pieces = [];
            this.length = 0;
            return false;
        }
        this.finish();
        return true;
    }

    private add(text: string, from: number, to = text.length): void {
        if (to <= from) return;
        this.length += to - from;
        if (this.long) return;
        if (this.length > this.maxLength) {
            this.long = true;
            this.pieces = [(this.pieces.join('') + text.slice(from, from + LONG_LINE_START)).slice(0, LONG_LINE_START)];
            return;
        }
        this.pieces.push(from === 0 && to === text.length ? text : text.slice(from, to));
    }

    private finish(): void {
        const line = this.pieces.length === 1 ? (this.pieces[0] ?? '') : this.pieces.join('');
        if (this.long) this.onLongLine(line, this.length);
        else this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
        this.pieces = [];
        this.length = 0;
        this.long = false;
    }
}
