/**
 * Our words for an error: its class and the first line of its message, capped. Never a request body, a header or a
 * URL beyond what the message's first line says; callers log this, chat messages never carry it.
 */
export function describeFailure(err: unknown): string {
    if (err instanceof Error) return `${err.name}: ${err.message.split('\n')[0]?.slice(0, 200) ?? ''}`;
    return 'unknown error';
}
