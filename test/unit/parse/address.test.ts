import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { addressProblem, canonicalAddress, isMaskedAddress, splitHostPort } from '../../../shared/parse/address.js';

/** An independent RFC 5952 formatter: the WHATWG URL parser, with IPv4-mapped addresses turned into dotted IPv4. */
function viaUrl(address: string): string {
    const host = new URL(`http://[${address}]/`).hostname.slice(1, -1);
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
    if (mapped === null) return host;
    const high = Number.parseInt(mapped[1]!, 16);
    const low = Number.parseInt(mapped[2]!, 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

describe('canonicalAddress', () => {
    const cases: [string, string | undefined][] = [
        ['10.244.0.5', '10.244.0.5'],
        ['0.0.0.0', '0.0.0.0'],
        ['[::1]', '::1'],
        ['::', '::'],
        ['*', '::'],
        ['fe80::5%eth0', 'fe80::5'],
        ['[fe80::5%eth0]', 'fe80::5'],
        ['127.0.0.1%lo', '127.0.0.1'],
        ['::ffff:192.0.2.1', '192.0.2.1'],
        ['[::ffff:127.0.0.1]', '127.0.0.1'],
        ['::FFFF:C000:0201', '192.0.2.1'],
        // /proc/net/nf_conntrack writes all eight groups with leading zeros.
        ['fd00:0010:0244:0000:0000:0000:0000:0005', 'fd00:10:244::5'],
        ['2001:0DB8:FFFF:0000:0000:0000:0000:0030', '2001:db8:ffff::30'],
        // A single zero group is not compressed (RFC 5952 4.2.2), as glibc's inet_ntop prints it.
        ['2001:db8::ab:cd:ef12:3456:7890', '2001:db8:0:ab:cd:ef12:3456:7890'],
        ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
        ['1:0:0:1:0:0:1:1', '1::1:0:0:1:1'],
        ['::7f00:1', '::7f00:1'],
        ['::ffff:0:1.2.3.4', '::ffff:0:102:304'],
        ['10.x.x.x', undefined],
        ['256.1.1.1', undefined],
        ['01.2.3.4', undefined],
        ['1.2.3', undefined],
        ['1.2.3.4.5', undefined],
        ['localhost', undefined],
        ['', undefined],
        ['1:2:3:4:5:6:7:8:9', undefined],
        ['1:2:3:4:5:6:7', undefined],
        ['1::2::3', undefined],
        [':::', undefined],
        ['12345::', undefined],
        ['g::1', undefined],
        ['[::1', undefined],
        ['::1.2.3', undefined],
    ];
    for (const [input, expected] of cases) {
        it(`${JSON.stringify(input)} -> ${String(expected)}`, () => {
            assert.equal(canonicalAddress(input), expected);
        });
    }

    it('agrees with the URL parser on every IPv6 form fast-check generates, and is idempotent', () => {
        fc.assert(
            fc.property(fc.ipV6(), (address) => {
                const canonical = canonicalAddress(address);
                assert.equal(canonical, viaUrl(address));
                assert.equal(canonicalAddress(canonical), canonical);
                assert.equal(canonicalAddress(`[${address.toUpperCase()}]`), canonical);
            }),
            { numRuns: 2000 },
        );
    });

    it('turns any IPv4-mapped address, in either notation, into the IPv4 address', () => {
        fc.assert(
            fc.property(fc.ipV4(), (ipv4) => {
                assert.equal(canonicalAddress(ipv4), ipv4);
                assert.equal(canonicalAddress(`::ffff:${ipv4}`), ipv4);
                const [a, b, c, d] = ipv4.split('.').map(Number) as [number, number, number, number];
                const hex = `::ffff:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
                assert.equal(canonicalAddress(hex), ipv4);
            }),
        );
    });

    it('accepts exactly what the URL parser accepts among strings of address characters', () => {
        fc.assert(
            fc.property(
                fc.string({ unit: fc.constantFrom(...Array.from('0123456789abcdef:.')), maxLength: 45 }),
                (text) => {
                    let urlAccepts = text.includes(':');
                    try {
                        if (urlAccepts) new URL(`http://[${text}]/`);
                    } catch {
                        urlAccepts = false;
                    }
                    // Dotted IPv4 without colons: the URL parser's IPv4 rules differ (hex, octal), so only check IPv6.
                    if (text.includes(':')) assert.equal(canonicalAddress(text) !== undefined, urlAccepts, text);
                },
            ),
            { numRuns: 3000 },
        );
    });

    it('never throws on arbitrary text', () => {
        fc.assert(
            fc.property(fc.string({ unit: 'binary' }), (text) => {
                const result = canonicalAddress(text);
                assert.ok(result === undefined || typeof result === 'string');
            }),
        );
    });
});

describe('splitHostPort', () => {
    const cases: [string, ReturnType<typeof splitHostPort>][] = [
        ['1.2.3.4:80', { host: '1.2.3.4', port: 80 }],
        ['[::1]:80', { host: '::1', port: 80 }],
        ['::ffff:1.2.3.4:443', { host: '1.2.3.4', port: 443 }],
        ['[::ffff:192.0.2.1]:443', { host: '192.0.2.1', port: 443 }],
        ['*:*', { host: '::', port: 0 }],
        ['*:9443', { host: '::', port: 9443 }],
        ['0.0.0.0:*', { host: '0.0.0.0', port: 0 }],
        ['[::]:*', { host: '::', port: 0 }],
        [':::22', { host: '::', port: 22 }],
        [':::*', { host: '::', port: 0 }],
        ['::1:9090', { host: '::1', port: 9090 }],
        ['fd00:10:244::5:37990', { host: 'fd00:10:244::5', port: 37990 }],
        ['127.0.0.1%lo:5300', { host: '127.0.0.1', port: 5300, zone: 'lo' }],
        ['[fe80::5]%eth0:7070', { host: 'fe80::5', port: 7070, zone: 'eth0' }],
        ['[fe80::5%eth0]:7070', { host: 'fe80::5', port: 7070, zone: 'eth0' }],
        ['1.2.3.4:0', { host: '1.2.3.4', port: 0 }],
        ['1.2.3.4:65535', { host: '1.2.3.4', port: 65535 }],
        ['1.2.3.4:65536', undefined],
        ['10.x.x.x:xxxx', undefined],
        ['20.x.x.x:443', undefined],
        ['1.2.3.4:https', undefined],
        ['1.2.3.4', undefined],
        ['1.2.3.4:', undefined],
        [':80', undefined],
        ['[::1]80', undefined],
        ['[::1]:', undefined],
        ['[::1', undefined],
        ['[fe80::5]%:80', undefined],
        ['[fe80::5%a]%b:80', undefined],
        ['host.example:80', undefined],
        ['', undefined],
    ];
    for (const [input, expected] of cases) {
        it(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => {
            assert.deepEqual(splitHostPort(input), expected);
        });
    }

    it('round-trips every address and port in the notations ss and netstat print', () => {
        fc.assert(
            fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 0, max: 65535 }), (address, port) => {
                const host = canonicalAddress(address)!;
                const bracketed = address.includes(':') ? `[${address}]` : address;
                assert.deepEqual(splitHostPort(`${bracketed}:${port}`), { host, port });
                assert.deepEqual(splitHostPort(`${address}:${port}`), { host, port });
                assert.deepEqual(splitHostPort(`${bracketed}%eth0:${port}`), { host, port, zone: 'eth0' });
            }),
            { numRuns: 2000 },
        );
    });

    it('never throws on arbitrary text', () => {
        fc.assert(
            fc.property(fc.string({ unit: 'binary' }), (text) => {
                const result = splitHostPort(text);
                assert.ok(result === undefined || (result.port >= 0 && result.port <= 65535));
            }),
        );
    });
});

describe('isMaskedAddress and addressProblem', () => {
    it('recognizes the masking people do before sharing output', () => {
        assert.equal(isMaskedAddress('10.x.x.x:xxxx'), true);
        assert.equal(isMaskedAddress('20.x.x.x:443'), true);
        assert.equal(isMaskedAddress('10.244.0.5:443'), false);
        assert.equal(isMaskedAddress('[fe80::5]%eth0:7070'), false);
        assert.equal(isMaskedAddress('xxxxx3/telnet'), false);
    });

    it('says why an address is unusable', () => {
        assert.equal(addressProblem('10.x.x.x:xxxx'), 'masked address');
        assert.equal(addressProblem('10.0.0.1:https'), 'port is a service name (run the tool with -n)');
        assert.match(addressProblem('garbage'), /^invalid address/);
    });
});
