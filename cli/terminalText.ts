/**
 * Text the CLI prints can carry what workloads and tools control: process names from tcptracer, lines quoted from a
 * capture, names in a probe's output. On a terminal, a control character or an ANSI escape in that text would act
 * (move the cursor, rewrite the line, retitle the window, hide what follows) instead of showing. Every write of a
 * command goes through `escapeTerminalText`, so such characters show as `\u001b` and the like.
 *
 * The escape is the JSON one, so JSON output stays the same document: JSON.stringify already escapes C0 controls,
 * and the characters it leaves raw (DEL, C1, bidirectional controls) can only stand inside strings, where `\uXXXX`
 * means the same character.
 */
import type { OutputStream } from './io.js';

/**
 * C0 controls except tab and newline, DEL, C1 controls (0x9b is CSI on some terminals), and the bidirectional
 * embeddings, overrides and isolates that reorder the text around them.
 */
const ACTIVE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function escapeTerminalText(text: string): string {
    return text.replace(ACTIVE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `stream` with every write escaped; `raw` keeps the stream itself for the spinner's own control sequences. */
export function escapingStream(stream: OutputStream): OutputStream {
    const raw = stream.raw ?? stream;
    return {
        write: (text: string) => raw.write(escapeTerminalText(text)),
        ...(raw.isTTY === undefined ? {} : { isTTY: raw.isTTY }),
        raw,
    };
}
