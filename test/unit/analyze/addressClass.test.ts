import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { AddressClassifier, cidrProblem } from '../../../shared/analyze/addressClass.js';
import { ipv6Value } from '../../../shared/parse/address.js';

describe('AddressClassifier', () => {
    const classifier = new AddressClassifier(['20.50.0.0/16', 'fd12:3456::/32']);
    const cases: [string, 'public' | 'private' | 'invalid', string][] = [
        ['10.244.1.5', 'private', 'RFC 1918 10/8'],
        ['172.16.0.1', 'private', 'RFC 1918 172.16/12'],
        ['172.32.0.1', 'public', 'just outside 172.16/12'],
        ['192.168.10.10', 'private', 'RFC 1918 192.168/16'],
        ['100.64.0.1', 'private', 'RFC 6598 shared space'],
        ['100.128.0.1', 'public', 'just outside 100.64/10'],
        ['127.0.0.1', 'private', 'loopback'],
        ['169.254.169.254', 'private', 'IMDS'],
        ['168.63.129.16', 'private', 'Azure platform address'],
        ['168.63.129.17', 'public', 'neighbour of the platform address'],
        ['192.0.2.10', 'public', 'TEST-NET-1 counts as public'],
        ['198.51.100.20', 'public', 'TEST-NET-2 counts as public'],
        ['203.0.113.30', 'public', 'TEST-NET-3 counts as public'],
        ['20.50.1.1', 'private', 'user-given VNet CIDR'],
        ['20.51.1.1', 'public', 'outside the user CIDR'],
        ['::1', 'private', 'IPv6 loopback'],
        ['fd00::1', 'private', 'IPv6 ULA'],
        ['fe80::1', 'private', 'IPv6 link-local'],
        ['2001:db8::1', 'public', 'IPv6 documentation range counts as public'],
        ['2603:1030::5', 'public', 'global IPv6'],
        ['::ffff:10.0.0.1', 'private', 'IPv4-mapped private'],
        ['::ffff:203.0.113.5', 'public', 'IPv4-mapped public'],
        ['fd12:3456::9', 'private', 'user-given IPv6 CIDR'],
        ['10.x.x.x', 'invalid', 'masked address'],
        ['256.1.1.1', 'invalid', 'octet out of range'],
        ['', 'invalid', 'empty'],
    ];
    for (const [address, expected, why] of cases) {
        it(`${address || '(empty)'} is ${expected}: ${why}`, () => {
            assert.equal(classifier.classify(address), expected);
            assert.equal(classifier.consumesSnat(address), expected === 'public');
        });
    }

    it('rejects bad CIDRs with a message naming the value and the expected form', () => {
        assert.throws(
            () => new AddressClassifier(['10.0.0.0']),
            /Invalid CIDR "10\.0\.0\.0": expected .*10\.1\.0\.0\/16/,
        );
        assert.match(cidrProblem('10.0.0.0/33') ?? '', /Invalid CIDR/);
        assert.match(cidrProblem('fd00::/129') ?? '', /Invalid CIDR/);
        assert.equal(cidrProblem('fd00::/8'), undefined);
    });

    it('parses IPv6 forms', () => {
        assert.equal(ipv6Value('::'), 0n);
        assert.equal(ipv6Value('::1'), 1n);
        assert.equal(ipv6Value('1:2:3:4:5:6:7:8'), 0x00010002000300040005000600070008n);
        assert.equal(ipv6Value('1::2::3'), undefined);
        assert.equal(ipv6Value('1:2:3:4:5:6:7:8:9'), undefined);
    });
});
