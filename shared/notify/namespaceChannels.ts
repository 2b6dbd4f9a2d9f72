/**
 * Reads SNATMON_NAMESPACE_CHANNELS: a JSON object from Kubernetes namespace to the channels of the team that owns
 * it, for example `{"payments": [{"kind": "slack", "url": "https://hooks.slack.com/services/..."}]}`. Problems are
 * described without quoting any URL or secret; the namespace is named so the operator knows which entry to fix.
 */
import { CHANNEL_NAMES, type ChannelName, type ChannelTargets } from './types.js';
import { webhookUrlProblem } from './webhookUrl.js';

/** A namespace name as Kubernetes accepts it (RFC 1123 label). */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const MIN_SECRET_CHARS = 16;

const RECEIVER: Record<ChannelName, string> = {
    teams: 'a Teams Workflows webhook',
    slack: 'a Slack incoming webhook',
    webhook: 'a JSON webhook receiver',
};

export type NamespaceChannelsResult =
    { ok: true; namespaces: Record<string, ChannelTargets> } | { ok: false; problem: string };

/** `problem` completes "Expected app setting `SNATMON_NAMESPACE_CHANNELS` ...". */
export function parseNamespaceChannels(text: string): NamespaceChannelsResult {
    const fail = (problem: string): NamespaceChannelsResult => ({ ok: false, problem });
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch {
        // JSON.parse's message quotes the text around the error, and the text holds webhook URLs.
        return fail('to be JSON: an object from namespace to a list of channels (value not shown)');
    }
    if (!isObject(parsed)) return fail('to be a JSON object from namespace to a list of channels');
    const namespaces: Record<string, ChannelTargets> = {};
    for (const [namespace, list] of Object.entries(parsed)) {
        if (!NAMESPACE.test(namespace)) {
            return fail(
                `to have Kubernetes namespace names as keys (lowercase letters, digits and '-', at most 63), got ${JSON.stringify(namespace.slice(0, 70))}`,
            );
        }
        const where = `for namespace '${namespace}'`;
        if (!Array.isArray(list) || list.length === 0) {
            return fail(
                `to hold a non-empty list of channels ${where}, each {"kind": "teams|slack|webhook", "url": ...}`,
            );
        }
        const targets: ChannelTargets = {};
        for (const entry of list as unknown[]) {
            if (!isObject(entry)) return fail(`to hold channel objects ${where}`);
            const kind = entry.kind;
            if (typeof kind !== 'string' || !(CHANNEL_NAMES as readonly string[]).includes(kind)) {
                return fail(`to give each channel ${where} a kind of ${CHANNEL_NAMES.join(', ')}`);
            }
            const channel = kind as ChannelName;
            if (targets[channel]) return fail(`to hold at most one ${channel} channel ${where}`);
            const url = entry.url;
            const problem =
                typeof url === 'string'
                    ? webhookUrlProblem(url.trim(), RECEIVER[channel])
                    : `to be ${RECEIVER[channel]}`;
            if (problem) return fail(`${where}, its ${channel} channel ${problem} (value not shown)`);
            if (channel === 'webhook') {
                const secret = entry.secret;
                if (typeof secret !== 'string' || secret.length < MIN_SECRET_CHARS) {
                    return fail(
                        `${where}, its webhook channel to hold a "secret" of at least ${MIN_SECRET_CHARS} characters (the HMAC key that signs each request)`,
                    );
                }
                targets.webhook = { url: (url as string).trim(), secret };
            } else {
                targets[channel] = { url: (url as string).trim() };
            }
        }
        namespaces[namespace] = targets;
    }
    return { ok: true, namespaces };
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}
