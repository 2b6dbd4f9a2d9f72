/**
 * Import this first in a test file that talks to the local Azure over HTTPS.
 *
 * Node reads NODE_EXTRA_CA_CERTS only at process start, and the CA is made at test time, so the first run of the file
 * makes the certificates, runs the same file again in a child started with NODE_EXTRA_CA_CERTS (stdio shared, so the
 * test runner sees the child's report as this file's), then exits with the child's code. Product code in the child
 * trusts the local Azure exactly the way a deployment trusts a private CA: no TLS options in code.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createTestCertificates, type TestCertificates, testCertificatesIn } from './certs.js';

const TLS_DIR_VARIABLE = 'SNATMON_LOCAL_AZURE_TLS_DIR';

async function rerunTrusted(): Promise<never> {
    const dir = mkdtempSync(join(tmpdir(), 'local-azure-tls-'));
    const certificates = createTestCertificates(dir);
    const script = process.argv[1];
    if (script === undefined) throw new Error('trust.ts needs the test file path in process.argv[1]');
    const child = spawn(process.execPath, [...process.execArgv, script, ...process.argv.slice(2)], {
        stdio: 'inherit',
        env: { ...process.env, NODE_EXTRA_CA_CERTS: certificates.caCertPath, [TLS_DIR_VARIABLE]: dir },
    });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    process.on('SIGTERM', forward('SIGTERM'));
    process.on('SIGINT', forward('SIGINT'));
    const code = await new Promise<number>((resolve) => {
        child.on('exit', (exitCode, signal) => {
            resolve(exitCode ?? (signal ? 1 : 0));
        });
    });
    rmSync(dir, { recursive: true, force: true });
    process.exit(code);
}

if (process.env[TLS_DIR_VARIABLE] === undefined) await rerunTrusted();

/** The certificates of this test process; the CA is already trusted through NODE_EXTRA_CA_CERTS. */
export function trustedCertificates(): TestCertificates {
    const dir = process.env[TLS_DIR_VARIABLE];
    if (dir === undefined) throw new Error(`${TLS_DIR_VARIABLE} is not set; import trust.js first`);
    return testCertificatesIn(dir);
}
