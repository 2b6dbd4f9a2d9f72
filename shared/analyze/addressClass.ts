/**
 * Which destinations consume SNAT ports on the cluster's outbound load balancer.
 * Traffic to private, link-local and platform addresses never leaves through the load balancer's
 * frontend IPs, so only the rest ("public") counts. Documentation ranges (192.0.2.0/24, ...) are
 * deliberately public: they are what the node lab and the demo use as "the internet".
 * Addresses are read by parse/address.ts; IPv6 ranges are matched by node:net's BlockList. IPv4 ranges stay numbers,
 * since the tcptracer counting core classifies by them (privateIpv4Ranges).
 */
import { BlockList } from 'node:net';

import { ipv4Value, ipv6Groups } from '../parse/address.js';

export type AddressClass = 'public' | 'private' | 'invalid';

interface Ipv4Range {
    base: number;
    mask: number;
}

const BUILT_IN_V4 = [
    '0.0.0.0/8', // "this network", unspecified
    '10.0.0.0/8', // RFC 1918
    '100.64.0.0/10', // RFC 6598 carrier-grade NAT (also AKS overlay defaults)
    '127.0.0.0/8', // loopback
    '169.254.0.0/16', // link-local, includes IMDS 169.254.169.254
    '172.16.0.0/12', // RFC 1918
    '192.168.0.0/16', // RFC 1918
    '168.63.129.16/32', // Azure platform (DNS, health probes, wireserver)
    '224.0.0.0/4', // multicast
    '255.255.255.255/32', // broadcast
];
const BUILT_IN_V6 = ['::/128', '::1/128', 'fc00::/7', 'fe80::/10', 'ff00::/8'];

export class CidrError extends Error {
    override readonly name = 'CidrError';
}

/** All eight groups spelled out: a form node:net reads whatever form the text had (mapped, compressed). */
function fullIpv6(groups: readonly number[]): string {
    return groups.map((group) => group.toString(16)).join(':');
}

/** IPv4-mapped IPv6 (::ffff:0:0/96) is an IPv4 destination in disguise: its value, else undefined. */
function mappedIpv4(groups: readonly number[]): number | undefined {
    if (groups.slice(0, 5).some((group) => group !== 0) || groups[5] !== 0xffff) return undefined;
    return (groups[6] ?? 0) * 65536 + (groups[7] ?? 0);
}

/** Parses `a.b.c.d/n` or `x::/n`; throws CidrError naming the bad value and the expected form. */
function parseCidr(text: string): { v4: Ipv4Range } | { v6: { network: string; prefix: number } } {
    const [address = '', bits, extra] = text.trim().split('/');
    const prefix = bits === undefined ? undefined : Number(bits);
    const bad = (): CidrError =>
        new CidrError(`Invalid CIDR "${text}": expected an address and prefix length such as 10.1.0.0/16 or fd00::/8`);
    if (extra !== undefined || bits === undefined || !/^\d{1,3}$/.test(bits) || prefix === undefined) throw bad();
    const v4 = ipv4Value(address);
    if (v4 !== undefined) {
        if (prefix > 32) throw bad();
        const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
        return { v4: { base: (v4 & mask) >>> 0, mask } };
    }
    const v6 = ipv6Groups(address);
    if (v6 !== undefined) {
        if (prefix > 128) throw bad();
        return { v6: { network: fullIpv6(v6), prefix } };
    }
    throw bad();
}

/**
 * Classifies destination addresses. Results are memoized because a capture repeats the same few
 * hundred destinations across millions of lines.
 */
export class AddressClassifier {
    private readonly v4: Ipv4Range[] = [];
    private readonly v6 = new BlockList();
    private readonly cache = new Map<string, AddressClass>();

    /** @param extraPrivateCidrs VNet, peered VNets, pod and service CIDRs: traffic that stays inside Azure's private network. */
    constructor(extraPrivateCidrs: readonly string[] = []) {
        for (const cidr of [...BUILT_IN_V4, ...BUILT_IN_V6, ...extraPrivateCidrs]) {
            const range = parseCidr(cidr);
            if ('v4' in range) this.v4.push(range.v4);
            else this.v6.addSubnet(range.v6.network, range.v6.prefix, 'ipv6');
        }
    }

    classify(address: string): AddressClass {
        // Dotted IPv4 is most of any capture: read it in place, no allocation and no hashing.
        const v4 = ipv4Value(address);
        if (v4 !== undefined) return this.classifyIpv4(v4);
        const cached = this.cache.get(address);
        if (cached !== undefined) return cached;
        const result = this.classifyIpv6(address);
        if (this.cache.size < 100_000) this.cache.set(address, result);
        return result;
    }

    consumesSnat(address: string): boolean {
        return this.classify(address) === 'public';
    }

    /** The IPv4 ranges classify calls private: a dotted quad outside all of them is public (see SnatRule). */
    privateIpv4Ranges(): readonly Ipv4Range[] {
        return this.v4;
    }

    private classifyIpv4(value: number): AddressClass {
        return this.v4.some((r) => (value & r.mask) >>> 0 === r.base) ? 'private' : 'public';
    }

    private classifyIpv6(address: string): AddressClass {
        const groups = ipv6Groups(address);
        if (groups === undefined) return 'invalid';
        const mapped = mappedIpv4(groups);
        if (mapped !== undefined) return this.classifyIpv4(mapped);
        return this.v6.check(fullIpv6(groups), 'ipv6') ? 'private' : 'public';
    }
}

/** Validates a CIDR without building a classifier; returns the error message or undefined. */
export function cidrProblem(text: string): string | undefined {
    try {
        parseCidr(text);
        return undefined;
    } catch (err) {
        return (err as Error).message;
    }
}
