/**
 * Reads a request body up to a byte cap and stops there. `request.text()` reads the whole body before anything can
 * look at its size, and a body sent without Content-Length (chunked) says nothing up front: 200 MB would be read
 * into memory to answer 413. With HTTP streams on (functions/startup.ts) the body arrives as a stream, so stopping
 * at the cap is what keeps the rest of it from ever being read.
 */
import type { HttpRequest } from '@azure/functions';

import { HttpError } from './responses.js';

export function payloadTooLarge(maxBytes: number, expected: string): HttpError {
    return new HttpError(413, 'PayloadTooLarge', `Request body over ${maxBytes} bytes; expected ${expected}`);
}

/** The body as UTF-8 text, or a 413 once more than `maxBytes` arrive (Content-Length over it: before any read). */
export async function readBodyCapped(
    request: Pick<HttpRequest, 'headers' | 'body'>,
    maxBytes: number,
    expected: string,
): Promise<string> {
    const declared = Number(request.headers.get('content-length') ?? '0');
    if (declared > maxBytes) throw payloadTooLarge(maxBytes, expected);
    const body = request.body;
    if (!body) return '';
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
        const { done, value } = (await reader.read()) as { done: boolean; value?: unknown };
        if (done) break;
        // A Request body stream yields bytes; anything else is a caller's bug, not input to guess at.
        if (!(value instanceof Uint8Array)) throw new TypeError('Expected the request body stream to yield bytes');
        size += value.byteLength;
        if (size > maxBytes) {
            // Tells the sender to stop; what it still sends is dropped unread.
            await reader.cancel().catch(() => undefined);
            throw payloadTooLarge(maxBytes, expected);
        }
        chunks.push(value);
    }
    return Buffer.concat(chunks, size).toString('utf8');
}
