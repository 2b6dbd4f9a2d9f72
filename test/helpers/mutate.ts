import fc from 'fast-check';

/**
 * A real line with a few random edits: characters deleted, inserted or replaced (from `alphabet`), the line cut,
 * or one of its first `tokenSpan` whitespace-separated tokens dropped. For parser property tests.
 */
export function mutatedLine(lines: readonly string[], alphabet: string, tokenSpan = 8): fc.Arbitrary<string> {
    return fc
        .tuple(
            fc.constantFrom(...lines),
            fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 4 }), fc.constantFrom(...Array.from(alphabet))), {
                maxLength: 4,
            }),
        )
        .map(([line, edits]) => {
            let s = line;
            for (const [position, kind, char] of edits) {
                const p = position % (s.length + 1);
                if (kind === 0) s = s.slice(0, p) + s.slice(p + 1);
                else if (kind === 1) s = s.slice(0, p) + char + s.slice(p);
                else if (kind === 2) s = s.slice(0, p) + char + s.slice(p + 1);
                else if (kind === 3) s = s.slice(0, p);
                else
                    s = s
                        .split(/\s+/)
                        .filter((_, i) => i !== p % tokenSpan)
                        .join(' ');
            }
            return s;
        });
}
