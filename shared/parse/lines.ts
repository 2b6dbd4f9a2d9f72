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

/**
 * Feeds a byte or text stream to `onLine` one line at a time without holding the whole input,
 * so gigabyte-sized captures parse in constant memory. Returns whether the input ended without
 * a newline (a truncated last line).
 */
export async function forEachLine(
    input: AsyncIterable<string | Uint8Array>,
    onLine: (line: string) => void,
): Promise<{ endedWithoutNewline: boolean }> {
    const decoder = new TextDecoder('utf-8');
    let carry = '';
    for await (const chunk of input) {
        const text = carry + (typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
        let start = 0;
        let newline = text.indexOf('\n', start);
        while (newline !== -1) {
            const end = newline > start && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
            onLine(text.slice(start, end));
            start = newline + 1;
            newline = text.indexOf('\n', start);
        }
        carry = text.slice(start);
    }
    carry += decoder.decode();
    if (carry.endsWith('\r')) carry = carry.slice(0, -1);
    if (carry.length > 0) onLine(carry);
    return { endedWithoutNewline: carry.length > 0 };
}
