/**
 * PartitionKey/RowKey text: Table Storage forbids `/ \ # ?` and control characters in keys, so those (and `%`)
 * are percent-encoded; the encoding is reversible and leaves ordinary node names untouched.
 */
const FORBIDDEN = /[%/\\#?\u0000-\u001f\u007f-\u009f]/g;

export const MAX_KEY_CHARS = 512;

export function encodeKey(text: string): string {
    const encoded = text.replace(FORBIDDEN, (ch) => `%${ch.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
    // Keys are capped at 1 KiB (512 UTF-16 characters); longer text is not a node name we could have seen.
    if (encoded.length > MAX_KEY_CHARS) throw new RangeError(`Expected a key of at most ${MAX_KEY_CHARS} characters`);
    return encoded;
}

export function decodeKey(key: string): string {
    return key.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
