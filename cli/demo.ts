/**
 * `snat-monitor demo`: the monitor end to end on one machine with no Azure account.
 *
 * Node reads NODE_EXTRA_CA_CERTS only at start and the local Azure's CA is made now, so the command makes the
 * certificates, runs itself again in a child started with NODE_EXTRA_CA_CERTS (the way cli/localAzure/trust.ts does
 * for tests) and removes them when the child exits. The product code in the child trusts the local Azure the way a
 * deployment trusts a private CA: no TLS options in code. Everything the child starts (the local Azure, Azurite, the
 * webhook receiver) lives in the child and stops with it.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { DEFAULT_DEMO_WEBHOOKS, type DemoWebhooks } from './demo/webhooks.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, UsageError } from './io.js';
import { createTestCertificates } from './localAzure/certs.js';

const TLS_DIR = 'SNATMON_DEMO_TLS_DIR';
const OUTPUT_DIR = 'SNATMON_DEMO_OUTPUT_DIR';
const CAPTURE_DIR = 'SNATMON_DEMO_CAPTURE_DIR';
export const DEFAULT_OUTPUT = 'snatmon-demo-output';

/**
 * Settings of the caller's shell that would point the demo's product code elsewhere: Azure credentials, identity
 * endpoints, storage, app settings, proxies. The demo's child never sees them, except the ones below.
 */
const FOREIGN = /^(AZURE_|MSI_|IDENTITY_|SNATMON_|AzureWebJobs|IMDS_|https?_proxy$|all_proxy$|no_proxy$)/i;

/**
 * The channel settings the demo keeps: of each URL only its path and query, posted to the demo's own receiver on
 * 127.0.0.1 (never to the URL's host), and the signing key, so a run shows how URLs and keys shaped like real ones
 * are handled. Plus where to write the capture the secrets test searches (./demo/capture.ts).
 */
const CHANNEL_URLS = {
    teams: 'SNATMON_TEAMS_WEBHOOK_URL',
    slack: 'SNATMON_SLACK_WEBHOOK_URL',
    webhook: 'SNATMON_WEBHOOK_URL',
} as const;
const KEPT = new Set<string>([...Object.values(CHANNEL_URLS), 'SNATMON_WEBHOOK_SECRET', CAPTURE_DIR]);

/** The local receiver's paths for the channels: the path and query of each URL set, else the demo's defaults. */
function demoWebhooks(env: NodeJS.ProcessEnv): DemoWebhooks {
    const webhooks = { ...DEFAULT_DEMO_WEBHOOKS };
    for (const [channel, name] of Object.entries(CHANNEL_URLS) as [keyof typeof CHANNEL_URLS, string][]) {
        const text = env[name]?.trim();
        if (!text) continue;
        let url: URL;
        try {
            url = new URL(text);
        } catch {
            // The value may be a real webhook URL: name the setting, never print it.
            throw new UsageError(`${name} is not a URL`);
        }
        webhooks[channel] = `${url.pathname}${url.search}`;
    }
    const secret = env.SNATMON_WEBHOOK_SECRET;
    if (secret) webhooks.secret = secret;
    return webhooks;
}

function parse(argv: string[]) {
    try {
        return parseArgs({
            args: argv,
            strict: true,
            allowPositionals: false,
            options: { out: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
        }).values;
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
}

/** --out, else ./snatmon-demo-output when the current directory is writable, else a new temporary directory. */
function outputDir(out: string | undefined, cwd: string): string {
    if (out !== undefined) return resolve(cwd, out);
    try {
        accessSync(cwd, constants.W_OK);
        return join(cwd, DEFAULT_OUTPUT);
    } catch {
        return mkdtempSync(join(tmpdir(), 'snatmon-demo-'));
    }
}

export async function runDemo(argv: string[], io: CliIo): Promise<number> {
    const options = parse(argv);
    if (options.help) {
        io.stdout.write('Usage: snat-monitor demo [--out DIR] [--json]  (snat-monitor help demo)\n');
        return EXIT_OK;
    }
    const tlsDir = io.env[TLS_DIR];
    if (tlsDir !== undefined && io.env.NODE_EXTRA_CA_CERTS !== undefined) {
        // The trusted child: the demo proper.
        const { formatDemo, runDemoStory } = await withoutHostWarnings(() => import('./demo/run.js'));
        const captureDir = io.env[CAPTURE_DIR];
        const result = await runDemoStory({
            certificatesDir: tlsDir,
            outputDir: io.env[OUTPUT_DIR] ?? '',
            webhooks: demoWebhooks(io.env),
            ...(captureDir ? { captureDir } : {}),
        });
        io.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : formatDemo(result));
        return EXIT_OK;
    }

    const out = outputDir(options.out, io.cwd);
    mkdirSync(out, { recursive: true });
    const dir = mkdtempSync(join(tmpdir(), 'snatmon-demo-tls-'));
    try {
        const certificates = createTestCertificates(dir);
        if (!options.json) {
            io.stderr.write(
                'snat-monitor demo: starting a simulated Azure (3 AKS clusters), Azurite and a local webhook ' +
                    'receiver on 127.0.0.1; all data is simulated.\n',
            );
        }
        const env: NodeJS.ProcessEnv = {};
        for (const [name, value] of Object.entries(io.env))
            if (!FOREIGN.test(name) || KEPT.has(name)) env[name] = value;
        Object.assign(env, { NODE_EXTRA_CA_CERTS: certificates.caCertPath, [TLS_DIR]: dir, [OUTPUT_DIR]: out });
        const script = fileURLToPath(new URL('./snat-monitor.js', import.meta.url));
        if (!existsSync(script)) throw new Error(`${script} not found: run the demo from the build (npm run demo)`);
        return await new Promise<number>((resolvePromise, reject) => {
            const child = spawn(process.execPath, [script, 'demo', ...argv], {
                cwd: io.cwd,
                env,
                stdio: ['ignore', 'pipe', 'pipe'],
            });
            child.stdout.on('data', (chunk: Buffer) => io.stdout.write(chunk.toString('utf8')));
            child.stderr.on('data', (chunk: Buffer) => io.stderr.write(chunk.toString('utf8')));
            const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
            const onInt = forward('SIGINT');
            const onTerm = forward('SIGTERM');
            process.on('SIGINT', onInt);
            process.on('SIGTERM', onTerm);
            child.once('error', reject);
            child.once('close', (code, signal) => {
                process.removeListener('SIGINT', onInt);
                process.removeListener('SIGTERM', onTerm);
                resolvePromise(code ?? (signal ? EXIT_FAILURE : EXIT_OK));
            });
        });
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * The Functions modules register their functions with the host when imported; outside a host, @azure/functions
 * says on stderr that it skips that. The demo calls the handlers itself, so those lines would only confuse.
 */
export async function withoutHostWarnings<T>(load: () => Promise<T>): Promise<T> {
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
        if (typeof args[0] === 'string' && args[0].includes('"@azure/functions" package')) return;
        warn(...args);
    };
    try {
        return await load();
    } finally {
        console.warn = warn;
    }
}
