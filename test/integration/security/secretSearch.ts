import type { HttpResponseInit } from '@azure/functions';

import type { WebhookReceiver } from '../../../cli/localAzure/webhookReceiver.js';

/**
 * Looks for secrets in captured text, in the forms a leak would take: as is, URL-encoded (percent and form style),
 * JSON-escaped, HTML-escaped, and inside base64 or base64url at any byte offset (a secret in a base64 queue message,
 * a Basic header or an Edm.Binary property). Raw, URL, JSON and HTML forms match without regard to case.
 */

export interface Secret {
    /** What it is, for the failure message (`teams webhook token`). */
    name: string;
    value: string;
}

export interface SecretForm {
    secret: string;
    form: string;
    needle: string;
    caseSensitive: boolean;
}

export interface Source {
    name: string;
    text: string;
}

export interface Leak {
    secret: string;
    form: string;
    source: string;
    /** The match with some context, the match itself between ⟦ ⟧. */
    excerpt: string;
}

/** Needles shorter than this would match by chance; every secret here is far longer. */
const MIN_NEEDLE = 8;

function htmlEscape(text: string): string {
    return text
        .replaceAll('&', '&amp;')
        .replaceAll('<', '&lt;')
        .replaceAll('>', '&gt;')
        .replaceAll('"', '&quot;')
        .replaceAll("'", '&#39;');
}

/**
 * The characters of base64(prefix + secret + suffix) that depend on the secret alone, for each of the three byte
 * offsets modulo 3 the secret can sit at: whole 4-character groups, without the group it shares with the prefix or
 * the suffix. Any base64 text that contains the secret's bytes contains one of these.
 */
function base64Cores(value: string, encoding: 'base64' | 'base64url'): string[] {
    const bytes = Buffer.from(value, 'utf8');
    const cores: string[] = [];
    for (let offset = 0; offset < 3; offset++) {
        const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString(encoding);
        const first = offset === 0 ? 0 : 4;
        const whole = Math.floor((offset + bytes.length) / 3) * 4;
        cores.push(encoded.slice(first, whole));
    }
    return cores;
}

export function formsOf(secret: Secret): SecretForm[] {
    const forms: SecretForm[] = [];
    const add = (form: string, needle: string, caseSensitive = false) => {
        if (needle.length < MIN_NEEDLE) return;
        const key = caseSensitive ? needle : needle.toLowerCase();
        const seen = forms.some((f) => (f.caseSensitive ? f.needle : f.needle.toLowerCase()) === key);
        if (!seen) forms.push({ secret: secret.name, form, needle, caseSensitive });
    };
    const value = secret.value;
    add('raw', value);
    add('url-encoded', encodeURIComponent(value));
    add('form-encoded', new URLSearchParams({ v: value }).toString().slice(2));
    add('double url-encoded', encodeURIComponent(encodeURIComponent(value)));
    add('json-escaped', JSON.stringify(value).slice(1, -1));
    // Some serializers also escape "/" and write &, <, > as \u escapes (HTML-safe JSON).
    add(
        'json-escaped, html-safe',
        JSON.stringify(value)
            .slice(1, -1)
            .replaceAll('/', '\\/')
            .replace(/[&<>]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    );
    add('html-escaped', htmlEscape(value));
    base64Cores(value, 'base64').forEach((core, offset) => {
        add(`base64 (offset ${offset})`, core, true);
    });
    base64Cores(value, 'base64url').forEach((core, offset) => {
        add(`base64url (offset ${offset})`, core, true);
    });
    return forms;
}

export function searchSecrets(sources: readonly Source[], secrets: readonly Secret[]): Leak[] {
    const forms = secrets.flatMap(formsOf);
    const leaks: Leak[] = [];
    for (const source of sources) {
        const lower = source.text.toLowerCase();
        for (const form of forms) {
            const haystack = form.caseSensitive ? source.text : lower;
            const index = haystack.indexOf(form.caseSensitive ? form.needle : form.needle.toLowerCase());
            if (index === -1) continue;
            const end = index + form.needle.length;
            const excerpt = `${source.text.slice(Math.max(0, index - 60), index)}⟦${source.text.slice(index, end)}⟧${source.text.slice(end, end + 60)}`;
            leaks.push({ secret: form.secret, form: form.form, source: source.name, excerpt });
        }
    }
    return leaks;
}

/** One line per leak, for an assertion message. */
export function describeLeaks(leaks: readonly Leak[]): string {
    return leaks.map((l) => `${l.secret} (${l.form}) in ${l.source}: ${l.excerpt.replaceAll('\n', '\\n')}`).join('\n');
}

/** Keeps each HTTP answer a handler gave (status, headers, body) as a source for searchSecrets, and passes it on. */
export function answerRecorder(answers: Source[]) {
    return async (name: string, response: Promise<HttpResponseInit>): Promise<HttpResponseInit> => {
        const answer = await response;
        answers.push({
            name,
            text: JSON.stringify({
                status: answer.status,
                headers: answer.headers,
                body: (answer.jsonBody as unknown) ?? answer.body,
            }),
        });
        return answer;
    };
}

/** Every request body the webhook receiver got (Teams, Slack, webhooks), as sources for searchSecrets. */
export function chatSources(receiver: WebhookReceiver): Source[] {
    return receiver.requests.map((r, i) => ({ name: `chat ${i + 1} ${r.path}`, text: r.body.toString('utf8') }));
}
