import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-SnatMon-Signature';
export const IDEMPOTENCY_HEADER = 'X-SnatMon-Idempotency-Key';
export const EVENT_HEADER = 'X-SnatMon-Event';

/** `sha256=<hex>`: HMAC-SHA256 with the shared secret over the exact body bytes sent. */
export function sign(body: string | Uint8Array, secret: string): string {
    return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** What a receiver does: recompute over the raw body and compare in constant time. */
export function verifySignature(body: string | Uint8Array, secret: string, header: string | undefined): boolean {
    if (!header) return false;
    const expected = Buffer.from(sign(body, secret));
    const actual = Buffer.from(header.trim());
    return expected.length === actual.length && timingSafeEqual(expected, actual);
}
