/** The one address module against node:net, on random input: what each form parses to, and how it is classified. */
import assert from 'node:assert/strict';
import { BlockList, isIPv4, isIPv6, SocketAddress } from 'node:net';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { AddressClassifier } from '../../../shared/analyze/addressClass.js';
import { formatIpv4, ipv4Value, ipv6Value, isIpAddress } from '../../../shared/parse/address.js';

const addressChars = fc.string({ unit: fc.constantFrom(...Array.from('0123456789abcdefABCDEF:.')), maxLength: 45 });
/** Valid addresses, their near misses (a character changed, dropped or added), and noise. */
const addressLike = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    addressChars,
    fc
        .tuple(fc.oneof(fc.ipV4(), fc.ipV6()), fc.nat(), fc.constantFrom('', '0', '.', ':', '::', '%', '1'))
        .map(([text, at, insert]) => {
            const i = at % (text.length + 1);
            return text.slice(0, i) + insert + text.slice(i + (at % 2));
        }),
);

describe('the one address module', () => {
    it('accepts exactly the literals node:net accepts, zones aside', () => {
        fc.assert(
            fc.property(addressLike, (text) => {
                assert.equal(ipv4Value(text) !== undefined, isIPv4(text), text);
                if (!text.includes('%')) assert.equal(ipv6Value(text) !== undefined, isIPv6(text), text);
                if (!text.includes('%')) assert.equal(isIpAddress(text), isIPv4(text) || isIPv6(text), text);
            }),
            { numRuns: 5000 },
        );
    });

    it('reads IPv4 values that format back to the same text', () => {
        fc.assert(
            fc.property(fc.integer({ min: 0, max: 0xffffffff }), (value) => {
                assert.equal(ipv4Value(formatIpv4(value)), value);
            }),
        );
    });

    it('reads the same 128-bit value as node:net for every IPv6 form', () => {
        fc.assert(
            fc.property(fc.ipV6(), (text) => {
                // A /128 BlockList rule matches one address: node:net's reading of the text.
                const list = new BlockList();
                list.addAddress(text, 'ipv6');
                const value = ipv6Value(text);
                assert.ok(value !== undefined);
                const groups = Array.from({ length: 8 }, (_, i) =>
                    ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16),
                );
                assert.ok(list.check(new SocketAddress({ address: groups.join(':'), family: 'ipv6' })), text);
            }),
            { numRuns: 2000 },
        );
    });
});

describe('AddressClassifier on random addresses and ranges', () => {
    it('classifies as a node:net BlockList of the same ranges does', () => {
        const v6Prefix = fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 }));
        const v4Prefix = fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 }));
        fc.assert(
            fc.property(
                fc.array(fc.oneof(v4Prefix, v6Prefix), { maxLength: 4 }),
                fc.array(addressLike),
                (ranges, addresses) => {
                    const cidrs = ranges.map(([network, prefix]) => `${network}/${prefix}`);
                    const classifier = new AddressClassifier(cidrs);
                    // A BlockList per family: node:net also matches IPv4 against IPv6 rules (::ffff:0:0/96), the classifier not.
                    const reference = { ipv4: new BlockList(), ipv6: new BlockList() };
                    const builtIn = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16'];
                    const builtInMore = ['172.16.0.0/12', '192.168.0.0/16', '168.63.129.16/32', '224.0.0.0/4'];
                    const builtInV6 = ['::/128', '::1/128', 'fc00::/7', 'fe80::/10', 'ff00::/8'];
                    for (const cidr of [...builtIn, ...builtInMore, '255.255.255.255/32', ...builtInV6, ...cidrs]) {
                        const [network = '', prefix = ''] = cidr.split('/');
                        const family = isIPv4(network) ? 'ipv4' : 'ipv6';
                        reference[family].addSubnet(network, Number(prefix), family);
                    }
                    for (const address of addresses) {
                        const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
                        const v4 = mapped ?? address;
                        const expected = isIPv4(v4)
                            ? reference.ipv4.check(v4, 'ipv4')
                            : isIPv6(address) && !address.includes('%')
                              ? reference.ipv6.check(address, 'ipv6')
                              : undefined;
                        const got = classifier.classify(address);
                        if (expected === undefined) assert.equal(got, 'invalid', address);
                        else if (!/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/i.test(address)) {
                            assert.equal(got, expected ? 'private' : 'public', `${address} in ${cidrs.join(' ')}`);
                        }
                    }
                },
            ),
            { numRuns: 300 },
        );
    });

    it('classifies an IPv4-mapped address, in either notation, as its IPv4 address', () => {
        const classifier = new AddressClassifier(['20.50.0.0/16']);
        const privateV4 = fc.oneof(fc.ipV4(), fc.constantFrom('10.1.2.3', '192.168.0.1', '20.50.7.7', '127.0.0.1'));
        fc.assert(
            fc.property(privateV4, (v4) => {
                const value = ipv4Value(v4) ?? assert.fail(v4);
                const hex = `::ffff:${(value >>> 16).toString(16)}:${(value & 0xffff).toString(16)}`;
                assert.equal(classifier.classify(`::ffff:${v4}`), classifier.classify(v4), v4);
                assert.equal(classifier.classify(hex), classifier.classify(v4), hex);
            }),
        );
    });
});
