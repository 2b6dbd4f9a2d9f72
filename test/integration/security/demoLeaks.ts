/**
 * The secrets check of a full demo run (run by test/integration/demo/demo.test.ts, so the demo runs once for both):
 * webhook URLs shaped like real Teams, Slack and generic ones with tokens in path and query, and an HMAC key, go in
 * through the settings the product reads; the run's own secrets (managed identity header, every access token the
 * local identity endpoint issued, the storage key and connection string) come back in the capture. Everything the
 * run printed, wrote, stored, queued, logged and sent is then searched for all of them in every encoded form.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

import type { DemoCaptureSummary, DemoSecrets } from '../../../cli/demo/capture.js';
import { formsOf, type Leak, searchSecrets, type Secret, type Source } from './secretSearch.js';

export interface DemoSecretPlan {
    /** Settings for the demo process. */
    env: Record<string, string>;
    /** The URL token parts alone, which the receiver's request paths must show (the control). */
    urlTokens: Secret[];
    /** Everything the test put in: URLs, their path and query, their tokens, the HMAC key. */
    given: Secret[];
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function alnum(length: number, alphabet = ALNUM): string {
    return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Fresh random secrets for one run, in the shapes the real services use. */
export function demoSecretPlan(): DemoSecretPlan {
    const workflow = randomBytes(16).toString('hex');
    const teamsSig = randomBytes(32).toString('base64url');
    // Teams workflow (Power Automate) URLs carry their key in the query; Slack's carry it in the path.
    const teams = `https://prod-27.westeurope.logic.azure.com:443/workflows/${workflow}/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${teamsSig}`;
    const slackTeam = `T${alnum(10, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')}`;
    const slackHook = `B${alnum(10, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')}`;
    const slackToken = alnum(24);
    const slack = `https://hooks.slack.com/services/${slackTeam}/${slackHook}/${slackToken}`;
    const hookPath = alnum(20);
    const hookToken = randomBytes(18).toString('base64url');
    const webhook = `https://alerts.example.net/hooks/${hookPath}?token=${hookToken}&team=ops`;
    // Standard base64: "+" and "/" make the URL-encoded and JSON-escaped forms differ from the raw one.
    let hmac = randomBytes(30).toString('base64');
    while (!/[+/]/.test(hmac)) hmac = randomBytes(30).toString('base64');

    const pathAndQuery = (url: string) => {
        const parsed = new URL(url);
        return `${parsed.pathname}${parsed.search}`;
    };
    const urlTokens: Secret[] = [
        { name: 'Teams workflow id', value: workflow },
        { name: 'Teams sig', value: teamsSig },
        { name: 'Slack team/hook path', value: `${slackTeam}/${slackHook}` },
        { name: 'Slack token', value: slackToken },
        { name: 'webhook path token', value: hookPath },
        { name: 'webhook query token', value: hookToken },
    ];
    return {
        env: {
            SNATMON_TEAMS_WEBHOOK_URL: teams,
            SNATMON_SLACK_WEBHOOK_URL: slack,
            SNATMON_WEBHOOK_URL: webhook,
            SNATMON_WEBHOOK_SECRET: hmac,
        },
        urlTokens,
        given: [
            { name: 'Teams URL', value: teams },
            { name: 'Teams path and query', value: pathAndQuery(teams) },
            { name: 'Slack URL', value: slack },
            { name: 'Slack path', value: pathAndQuery(slack) },
            { name: 'webhook URL', value: webhook },
            { name: 'webhook path and query', value: pathAndQuery(webhook) },
            ...urlTokens,
            { name: 'HMAC secret', value: hmac },
        ],
    };
}

/** One demo process: what it printed, where it wrote its files, and its capture directory. */
export interface DemoRunOutput {
    label: string;
    stdout: string;
    stderr: string;
    outputDir: string;
    captureDir: string;
}

/** Capture files searched; secrets.json is what to look for and webhook-paths.txt the control. */
const SEARCHED_CAPTURE = ['logs.txt', 'tables.jsonl', 'queues.jsonl', 'webhook-requests.jsonl'];

function filesUnder(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? filesUnder(path) : [path];
    });
}

export interface DemoLeakReport {
    sources: Source[];
    bytes: number;
    /** Secrets searched for, of every run. */
    secrets: Secret[];
    forms: number;
    leaks: Leak[];
    /** Per run: the receiver's request paths, which must contain every URL token. */
    controlPaths: Source[];
    captures: DemoCaptureSummary[];
    runSecrets: DemoSecrets[];
}

export function searchDemoRuns(runs: readonly DemoRunOutput[], plan: DemoSecretPlan): DemoLeakReport {
    const sources: Source[] = [];
    const secrets: Secret[] = [...plan.given];
    const controlPaths: Source[] = [];
    const captures: DemoCaptureSummary[] = [];
    const runSecrets: DemoSecrets[] = [];
    for (const run of runs) {
        sources.push({ name: `${run.label} stdout`, text: run.stdout });
        sources.push({ name: `${run.label} stderr`, text: run.stderr });
        for (const file of filesUnder(run.outputDir)) {
            sources.push({ name: `${run.label} ${relative(run.outputDir, file)}`, text: readFileSync(file, 'utf8') });
        }
        for (const name of SEARCHED_CAPTURE) {
            sources.push({ name: `${run.label} ${name}`, text: readFileSync(join(run.captureDir, name), 'utf8') });
        }
        controlPaths.push({
            name: `${run.label} webhook-paths.txt`,
            text: readFileSync(join(run.captureDir, 'webhook-paths.txt'), 'utf8'),
        });
        captures.push(JSON.parse(readFileSync(join(run.captureDir, 'summary.json'), 'utf8')) as DemoCaptureSummary);
        const made = JSON.parse(readFileSync(join(run.captureDir, 'secrets.json'), 'utf8')) as DemoSecrets;
        runSecrets.push(made);
        secrets.push(
            { name: `${run.label} IDENTITY_HEADER`, value: made.identityHeader },
            { name: `${run.label} storage connection string`, value: made.storageConnectionString },
            { name: `${run.label} storage account key`, value: made.storageAccountKey },
            ...made.accessTokens.flatMap((token, i) => [
                { name: `${run.label} access token ${i + 1}`, value: token },
                // The random part alone, in case something strips the issuer's prefix.
                { name: `${run.label} access token ${i + 1} (random part)`, value: token.replace(/^[^.]*\./, '') },
            ]),
        );
    }
    const unique = secrets.filter((s, i) => secrets.findIndex((o) => o.value === s.value) === i);
    return {
        sources,
        bytes: sources.reduce((sum, s) => sum + Buffer.byteLength(s.text, 'utf8'), 0),
        secrets: unique,
        forms: unique.reduce((sum, s) => sum + formsOf(s).length, 0),
        leaks: searchSecrets(sources, unique),
        controlPaths,
        captures,
        runSecrets,
    };
}

/**
 * Known leaks to prove the search finds what it should: each secret written into a copy of real captured text the
 * way a careless log line, JSON body, HTML page, URL or base64 payload would carry it, at each base64 offset.
 */
export function plantedLeaks(secret: Secret, carrier: string): Source[] {
    const v = secret.value;
    const escapeHtml = (t: string) => t.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('"', '&quot;');
    const planted: [string, string][] = [
        ['log line', `warning: delivery to ${v} failed`],
        ['JSON body', JSON.stringify({ error: { message: `could not post to ${v}` } })],
        ['HTML page', `<a href="${escapeHtml(v)}">link</a>`],
        ['query string', `/api/x?next=${encodeURIComponent(v)}`],
        ['form body', new URLSearchParams({ url: v }).toString()],
        ...[0, 1, 2].map((pad): [string, string] => [
            `base64 message, offset ${pad}`,
            Buffer.from(`${'x'.repeat(pad)}{"url":"${v}"}`).toString('base64'),
        ]),
        ['base64url token', Buffer.from(`pre ${v} post`).toString('base64url')],
    ];
    const middle = Math.floor(carrier.length / 2);
    return planted.map(([how, text]) => ({
        name: how,
        text: `${carrier.slice(0, middle)}\n${text}\n${carrier.slice(middle)}`,
    }));
}
