/**
 * Delivers the outbox. Each entry is taken with a conditional write before it is sent and marked delivered with
 * the ETag from that write, so two drains at once never both send it. Failures back off exponentially (a 429's
 * Retry-After wins) and entries are never dropped: whatever is undelivered goes out on a later run.
 *
 * Webhook URLs and the signing secret are used only to make the request. They are not logged, stored or put in
 * errors; failures are described by HTTP status or network error code and name the channel.
 */
import { randomUUID } from 'node:crypto';

import type { ChannelState, OutboxEntry, OutboxStore } from '../store/outboxStore.js';
import { type Destination, destinations } from './routing.js';
import { EVENT_HEADER, IDEMPOTENCY_HEADER, sign, SIGNATURE_HEADER } from './signature.js';
import { type ChannelTargets, type Log, silentLog } from './types.js';

export interface DrainOptions {
    now?: () => Date;
    fetch?: typeof fetch;
    /** Keep going, waiting for retries that fall due, until this long after the start (default 0: one pass). */
    budgetMs?: number;
    /** First retry delay; doubles per attempt (default 30 s). */
    baseBackoffMs?: number;
    /** Longest delay between attempts (default 1 h), except that a longer Retry-After is obeyed. */
    maxBackoffMs?: number;
    /** Per-request timeout (default 10 s). */
    timeoutMs?: number;
    /** How long a taken entry is reserved for its sender (default 3 x timeoutMs). */
    holdMs?: number;
    /** Upward jitter factor on backoff delays in [0, 1) (default: random up to 20%). */
    jitter?: () => number;
    sleep?: (ms: number) => Promise<void>;
    log?: Log;
}

export interface ChannelReport {
    delivered: number;
    failed: number;
    /** Entries another drain held at the time. */
    busy: number;
    /** Undelivered entries left after this drain. */
    pending: number;
}

/** Per outbox channel: `teams`, `slack`, `webhook`, and `<kind>@<namespace>` for a namespace's own channel. */
export type DrainReport = Record<string, ChannelReport>;

type Outcome = { ok: true; status: number } | { ok: false; error: string; retryAfterMs?: number; channelDown: boolean };

/** Retry-After longer than this is treated as this (a day): a broken header must not park a message for years. */
const MAX_RETRY_AFTER_MS = 24 * 60 * 60_000;

/** `to`: every channel to deliver (routing.ts's destinations), or the default channels alone. */
export async function drainOutbox(
    outbox: OutboxStore,
    to: ChannelTargets | readonly Destination[],
    options: DrainOptions = {},
): Promise<DrainReport> {
    const now = options.now ?? (() => new Date());
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const log = options.log ?? silentLog;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const settings: Settings = {
        holder: randomUUID(),
        fetch: options.fetch ?? fetch,
        timeoutMs,
        holdMs: options.holdMs ?? timeoutMs * 3,
        baseBackoffMs: options.baseBackoffMs ?? 30_000,
        maxBackoffMs: options.maxBackoffMs ?? 60 * 60_000,
        jitter: options.jitter ?? (() => Math.random() * 0.2),
        log,
    };
    const deadline = now().getTime() + (options.budgetMs ?? 0);
    const report: DrainReport = {};
    const channels = (isDestinationList(to) ? to : destinations(to)).filter((d) => d.target.url);
    const reports = new Map<Destination, ChannelReport>();
    for (const channel of channels) {
        const channelReport = { delivered: 0, failed: 0, busy: 0, pending: 0 };
        reports.set(channel, channelReport);
        report[channel.key] = channelReport;
    }

    for (;;) {
        let nextDue = Number.POSITIVE_INFINITY;
        for (const [channel, channelReport] of reports) {
            const due = await drainChannel(outbox, channel, now, settings, channelReport);
            nextDue = Math.min(nextDue, due);
        }
        if (nextDue > deadline) break;
        await sleep(Math.max(0, nextDue - now().getTime()));
    }
    for (const [channel, channelReport] of reports) {
        channelReport.pending = (await outbox.listUndelivered(channel.key)).length;
        if (channelReport.pending > 0)
            log.warn(`${channelReport.pending} ${channel.key} notifications still waiting for delivery`);
    }
    return report;
}

function isDestinationList(to: ChannelTargets | readonly Destination[]): to is readonly Destination[] {
    return Array.isArray(to);
}

interface Settings {
    /** This drain's name on the channel rows it holds. */
    holder: string;
    fetch: typeof fetch;
    timeoutMs: number;
    holdMs: number;
    baseBackoffMs: number;
    maxBackoffMs: number;
    jitter: () => number;
    log: Log;
}

/**
 * Sends what is due on one channel, oldest first; returns when the next undelivered entry falls due. The channel is
 * held for the whole pass (a conditional write on its shared row), so concurrent passes, on this instance or
 * another, never send to it at once; and a Retry-After or a failure's backoff is kept on that row, so it holds for
 * every message to the channel, not only the one that got it.
 */
async function drainChannel(
    outbox: OutboxStore,
    channel: Destination,
    now: () => Date,
    settings: Settings,
    report: ChannelReport,
): Promise<number> {
    const read = await outbox.getChannel(channel.key);
    const blockedUntil = read.blockedUntil?.getTime() ?? 0;
    if (blockedUntil > now().getTime()) return blockedUntil;
    const heldUntil = read.heldUntil?.getTime() ?? 0;
    if (read.holder !== undefined && read.holder !== settings.holder && heldUntil > now().getTime()) {
        report.busy++;
        return heldUntil;
    }
    let state = await outbox.updateChannel(read, hold(now, settings));
    if (!state) {
        report.busy++;
        return now().getTime();
    }
    try {
        const { nextDue, channel: after } = await sendDue(outbox, channel, state, now, settings, report);
        state = after;
        return nextDue;
    } finally {
        // Let go at once (the next pass need not wait out the hold); losing this write only delays it until then.
        if (state) await outbox.updateChannel(state, { holder: '', heldUntil: new Date(0) });
    }
}

function hold(now: () => Date, settings: Settings) {
    return { holder: settings.holder, heldUntil: new Date(now().getTime() + settings.holdMs) };
}

/** The entries of a held channel; the state returned is the channel's as last written (undefined: hold lost). */
async function sendDue(
    outbox: OutboxStore,
    channel: Destination,
    held: ChannelState,
    now: () => Date,
    settings: Settings,
    report: ChannelReport,
): Promise<{ nextDue: number; channel: ChannelState | undefined }> {
    let state: ChannelState | undefined = held;
    let nextDue = Number.POSITIVE_INFINITY;
    // Messages of one incident go out in order: a resolution never overtakes its opening alert.
    const blocked = new Set<string>();
    for (const entry of await outbox.listUndelivered(channel.key)) {
        const order = entry.incidentId ?? entry.key;
        if (blocked.has(order)) continue;
        const dueAt = Math.max(entry.nextAttemptAt.getTime(), entry.sendingUntil?.getTime() ?? 0);
        if (dueAt > now().getTime()) {
            nextDue = Math.min(nextDue, dueAt);
            blocked.add(order);
            continue;
        }
        // Renewing the hold before each send is also the check that no other drain took the channel meanwhile.
        state = await outbox.updateChannel(state, hold(now, settings));
        if (!state) {
            report.busy++;
            return { nextDue: now().getTime(), channel: undefined };
        }
        const taken = await outbox.take(entry, now(), settings.holdMs);
        if (!taken) {
            report.busy++;
            blocked.add(order);
            continue;
        }
        const outcome = await post(channel, taken, settings, now().getTime());
        if (outcome.ok) {
            if (await outbox.markDelivered(taken, now())) {
                report.delivered++;
                settings.log.info(
                    `Delivered ${taken.event} notification ${taken.key} to ${channel.key} (HTTP ${outcome.status})`,
                );
            } else {
                settings.log.warn(
                    `Delivered ${taken.key} to ${channel.key} but lost its hold before marking it; it may be sent again`,
                );
            }
            if (state.failures > 0)
                state = (await outbox.updateChannel(state, { failures: 0, lastError: '' })) ?? state;
            continue;
        }
        // A channel that is down or throttling backs off as a whole, from its own count of failures in a row.
        const failures = outcome.channelDown ? state.failures + 1 : taken.attempts;
        // Retry-After: 0 would spin; a second later still honours it.
        const delay =
            outcome.retryAfterMs !== undefined ? Math.max(outcome.retryAfterMs, 1_000) : backoff(failures, settings);
        const retryAt = new Date(now().getTime() + delay);
        await outbox.markFailed(taken, retryAt, outcome.error);
        report.failed++;
        blocked.add(order);
        nextDue = Math.min(nextDue, retryAt.getTime());
        settings.log.warn(
            `Delivery of ${taken.key} to ${channel.key} failed (${outcome.error}), attempt ${taken.attempts}; next try at ${retryAt.toISOString()}`,
        );
        if (outcome.channelDown) {
            // Every message to the channel waits, on every instance: leave the rest for the retry.
            const blockedState = await outbox.updateChannel(state, {
                blockedUntil: retryAt,
                failures,
                lastError: outcome.error,
            });
            return { nextDue, channel: blockedState };
        }
    }
    return { nextDue, channel: state };
}

function backoff(attempts: number, settings: Settings): number {
    const exponential = settings.baseBackoffMs * 2 ** Math.max(0, attempts - 1);
    return Math.round(Math.min(settings.maxBackoffMs, exponential) * (1 + settings.jitter()));
}

async function post(
    { kind, target }: Destination,
    entry: OutboxEntry,
    settings: Settings,
    nowMs: number,
): Promise<Outcome> {
    const headers: Record<string, string> = { 'Content-Type': entry.contentType || 'application/json' };
    if (kind === 'webhook') {
        headers[IDEMPOTENCY_HEADER] = entry.key;
        headers[EVENT_HEADER] = entry.event;
        if (target.secret) headers[SIGNATURE_HEADER] = sign(entry.body, target.secret);
    }
    let response: Response;
    try {
        response = await settings.fetch(target.url, {
            method: 'POST',
            headers,
            body: entry.body,
            signal: AbortSignal.timeout(settings.timeoutMs),
            // A 307 would re-send the signed body to wherever the answer points (a host the URL check never saw),
            // and a 302 turns the POST into a GET without its body: a 3xx is a failed delivery, never followed.
            redirect: 'manual',
        });
    } catch (err) {
        return { ok: false, error: networkError(err), channelDown: true };
    }
    // Read the body so the connection can be reused; only its status matters.
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return { ok: true, status: response.status };
    // The channel's URL redirects every message alike: a setting to fix, so the whole channel backs off.
    if (response.status >= 300 && response.status < 400) {
        return { ok: false, error: `HTTP ${response.status} (a redirect, not followed)`, channelDown: true };
    }
    const error = `HTTP ${response.status}`;
    if (response.status === 429 || response.status === 503) {
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), nowMs);
        return { ok: false, error, channelDown: true, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    }
    return { ok: false, error, channelDown: response.status >= 500 || response.status === 408 };
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
    if (value === null || value.trim() === '') return undefined;
    const text = value.trim();
    if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
    // An HTTP-date names its weekday and month; without letters Date.parse would read "-5" as a year.
    const date = /[a-z]/i.test(text) ? Date.parse(text) : Number.NaN;
    if (Number.isNaN(date)) return undefined;
    return Math.min(Math.max(0, date - nowMs), MAX_RETRY_AFTER_MS);
}

/** A network failure as an error code only: undici's messages carry the host, and URL parse errors the URL. */
function networkError(err: unknown): string {
    if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'timed out';
    const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
    const code = typeof cause?.code === 'string' ? cause.code : undefined;
    return code && /^[A-Z_]+$/.test(code) ? `network error ${code}` : 'network error';
}
