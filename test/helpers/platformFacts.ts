/**
 * docs/platform-facts.md as data, so tests can hold the code to the record.
 *
 * Every fact is a level-3 heading that is its id in backticks, followed by bullet fields:
 *
 *     ### `probe.image`
 *     - **Value:** `mcr.microsoft.com/azurelinux/busybox:1.36`
 *     - **Fact:** what is true of the platform, in words.
 *     - **Source:** the primary source: repository and path (with commit or date read), spec file, or Learn page.
 *     - **Status:** verified | unverified: why, and how the code degrades instead of assuming.
 *     - **Code:** where the code relies on it.
 *
 * `Value` holds the exact strings or numbers the code must use, each in backticks (any number of them). A test calls
 * platformFact('probe.image') and compares the code's constant with `value` / `values`; the record test
 * (test/unit/docs/platformFacts.test.ts) checks that every fact has a source and a status and is used by some test.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { repoRoot } from './paths.js';

export const PLATFORM_FACTS_FILE = join(repoRoot, 'docs', 'platform-facts.md');

export interface PlatformFact {
    id: string;
    /** Every backticked span of the Value field, in order. */
    values: string[];
    /** The first of `values` (a fact with no Value field has none, and asking for it throws). */
    value: string;
    fact: string;
    source: string;
    status: 'verified' | 'unverified';
    /** The Status field after "verified" / "unverified". */
    statusDetail: string;
    code: string;
    /** Line of the heading in docs/platform-facts.md, for messages. */
    line: number;
}

const HEADING = /^### `([a-z0-9][a-z0-9.-]*)`\s*$/;
const FIELD = /^- \*\*(Value|Fact|Source|Status|Code):\*\*\s*(.*)$/;

/** Every fact in docs/platform-facts.md (or in `text`), in document order. */
export function readPlatformFacts(text: string = readFileSync(PLATFORM_FACTS_FILE, 'utf8')): PlatformFact[] {
    const facts: PlatformFact[] = [];
    let current: RawFact | undefined;
    let lastField: string | undefined;
    const finish = () => {
        if (current) facts.push(toFact(current));
        current = undefined;
        lastField = undefined;
    };
    text.split('\n').forEach((line, index) => {
        const heading = HEADING.exec(line);
        if (heading?.[1] !== undefined) {
            finish();
            current = { id: heading[1], line: index + 1, fields: {} };
            return;
        }
        if (/^#{1,3} /.test(line)) {
            finish();
            return;
        }
        if (!current) return;
        const field = FIELD.exec(line);
        if (field?.[1] !== undefined) {
            lastField = field[1];
            current.fields[lastField] = field[2] ?? '';
        } else if (lastField !== undefined && /^\s{2,}\S/.test(line)) {
            // A field continued on indented lines.
            current.fields[lastField] = `${current.fields[lastField] ?? ''} ${line.trim()}`;
        } else if (line.trim() === '') {
            lastField = undefined;
        }
    });
    finish();
    return facts;
}

interface RawFact {
    id: string;
    line: number;
    fields: Partial<Record<string, string>>;
}

function toFact(raw: RawFact): PlatformFact {
    const where = `docs/platform-facts.md:${raw.line} (${raw.id})`;
    const field = (name: string) => (raw.fields[name] ?? '').trim();
    const valueText = field('Value');
    const values = [...valueText.matchAll(/`([^`]*)`/g)].map((m) => m[1] ?? '');
    const statusText = field('Status');
    const status = /^verified\b/i.test(statusText)
        ? 'verified'
        : /^unverified\b/i.test(statusText)
          ? 'unverified'
          : undefined;
    if (status === undefined) {
        throw new Error(
            `${where}: Status must start with "verified" or "unverified", found ${JSON.stringify(statusText)}`,
        );
    }
    return {
        id: raw.id,
        values,
        get value(): string {
            const first = values[0];
            if (first === undefined) throw new Error(`${where} has no backticked Value`);
            return first;
        },
        fact: field('Fact'),
        source: field('Source'),
        status,
        statusDetail: statusText.replace(/^(un)?verified[:.;,]?\s*/i, ''),
        code: field('Code'),
        line: raw.line,
    };
}

let cache: Map<string, PlatformFact> | undefined;

/** One fact by id; throws naming the id when docs/platform-facts.md does not have it. */
export function platformFact(id: string): PlatformFact {
    cache ??= new Map(readPlatformFacts().map((f) => [f.id, f]));
    const fact = cache.get(id);
    if (!fact) throw new Error(`docs/platform-facts.md has no fact \`${id}\` (a heading "### \`${id}\`")`);
    return fact;
}
