/** Lines a parser could not read: how many, and a few of them so a person can see why. */
export interface Skipped {
    lines: number;
    examples: SkippedExample[];
}

export interface SkippedExample {
    /** 1-based line number in the input, when known. */
    line: number;
    text: string;
    reason: string;
}

const MAX_EXAMPLES = 5;
const MAX_EXAMPLE_LENGTH = 200;

/** Collects skipped lines without ever growing past a few examples, so huge bad inputs stay cheap. */
export class SkipCollector {
    private count = 0;
    private readonly examples: SkippedExample[] = [];

    skip(line: number, text: string, reason: string): void {
        this.count++;
        if (this.examples.length < MAX_EXAMPLES) {
            const shown = text.length > MAX_EXAMPLE_LENGTH ? `${text.slice(0, MAX_EXAMPLE_LENGTH)}…` : text;
            this.examples.push({ line, text: shown, reason });
        }
    }

    get lines(): number {
        return this.count;
    }

    result(): Skipped {
        return { lines: this.count, examples: [...this.examples] };
    }
}

/** Adds several Skipped results into one, keeping the first few examples overall. */
export function mergeSkipped(parts: readonly Skipped[]): Skipped {
    const merged: Skipped = { lines: 0, examples: [] };
    for (const part of parts) {
        merged.lines += part.lines;
        for (const example of part.examples) {
            if (merged.examples.length < MAX_EXAMPLES) merged.examples.push(example);
        }
    }
    return merged;
}

export interface ParseResult<T> {
    records: T[];
    skipped: Skipped;
}
