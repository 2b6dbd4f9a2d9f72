import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificates {
    dir: string;
    /** PEM of the throwaway CA; give it to the product as NODE_EXTRA_CA_CERTS. */
    caCertPath: string;
    serverKeyPath: string;
    serverCertPath: string;
}

function openssl(args: string[], cwd: string): void {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Makes a CA and a 127.0.0.1/localhost server certificate it signed, with the openssl CLI, valid for two days. */
export function createTestCertificates(dir: string): TestCertificates {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(
        [
            'req',
            '-x509',
            ...ec,
            '-keyout',
            'ca.key',
            '-out',
            'ca.pem',
            '-days',
            '2',
            '-subj',
            '/CN=snat-monitor local Azure test CA',
            '-addext',
            'basicConstraints=critical,CA:TRUE',
            '-addext',
            'keyUsage=critical,keyCertSign,cRLSign',
        ],
        dir,
    );
    openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
    writeFileSync(
        join(dir, 'server.ext'),
        [
            'basicConstraints=CA:FALSE',
            'keyUsage=critical,digitalSignature',
            'extendedKeyUsage=serverAuth',
            'subjectAltName=IP:127.0.0.1,DNS:localhost',
            '',
        ].join('\n'),
    );
    openssl(
        [
            'x509',
            '-req',
            '-in',
            'server.csr',
            '-CA',
            'ca.pem',
            '-CAkey',
            'ca.key',
            '-set_serial',
            `0x${randomBytes(8).toString('hex')}`,
            '-days',
            '2',
            '-extfile',
            'server.ext',
            '-out',
            'server.pem',
        ],
        dir,
    );
    return {
        dir,
        caCertPath: join(dir, 'ca.pem'),
        serverKeyPath: join(dir, 'server.key'),
        serverCertPath: join(dir, 'server.pem'),
    };
}

/** The paths createTestCertificates wrote into `dir`. */
export function testCertificatesIn(dir: string): TestCertificates {
    return {
        dir,
        caCertPath: join(dir, 'ca.pem'),
        serverKeyPath: join(dir, 'server.key'),
        serverCertPath: join(dir, 'server.pem'),
    };
}
