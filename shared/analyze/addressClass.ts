/**
 * Which destinations consume SNAT ports on the cluster's outbound load balancer.
 * Traffic to private, link-local and platform addresses never leaves through the load balancer's
 * frontend IPs, so only the rest ("public") counts. Documentation ranges (192.0.2.0/24, ...) are
 * deliberately public: they are what the node lab and the demo use as "the internet".
 */

export type AddressClass = 'public' | 'private' | 'invalid';

interface Ipv4Range {
    base: number;
    mask: number;
}

interface Ipv6Range {
    base: bigint;
    mask: bigint;
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

export function parseIpv4(text: string): number | undefined {
    const parts = text.split('.');
    if (parts.length !== 4) return undefined;
    let value = 0;
    for (const part of parts) {
        if (!/^\d{1,3}$/.test(part)) return undefined;
        const octet = Number(part);
        if (octet > 255) return undefined;
        value = value * 256 + octet;
    }
    return value;
}

export function parseIpv6(text: string): bigint | undefined {
    let address = text.toLowerCase();
    // A trailing dotted quad (::ffff:1.2.3.4) stands for the last two groups.
    const lastColon = address.lastIndexOf(':');
    const tail = address.slice(lastColon + 1);
    if (tail.includes('.')) {
        const v4 = parseIpv4(tail);
        if (v4 === undefined) return undefined;
        address = `${address.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
    }
    const halves = address.split('::');
    if (halves.length > 2) return undefined;
    const head = halves[0] ? halves[0].split(':') : [];
    const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
    const missing = 8 - head.length - rest.length;
    if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
    const groups = [...head, ...(Array(halves.length === 2 ? missing : 0).fill('0') as string[]), ...rest];
    let value = 0n;
    for (const group of groups) {
        if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined;
        value = (value << 16n) | BigInt(parseInt(group, 16));
    }
    return value;
}

/** Parses `a.b.c.d/n` or `x::/n`; throws CidrError naming the bad value and the expected form. */
function parseCidr(text: string): { v4?: Ipv4Range; v6?: Ipv6Range } {
    const [address = '', bits, extra] = text.trim().split('/');
    const prefix = bits === undefined ? undefined : Number(bits);
    const bad = (): CidrError =>
        new CidrError(`Invalid CIDR "${text}": expected an address and prefix length such as 10.1.0.0/16 or fd00::/8`);
    if (extra !== undefined || bits === undefined || !/^\d{1,3}$/.test(bits) || prefix === undefined) throw bad();
    const v4 = parseIpv4(address);
    if (v4 !== undefined) {
        if (prefix > 32) throw bad();
        const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
        return { v4: { base: (v4 & mask) >>> 0, mask } };
    }
    const v6 = parseIpv6(address);
    if (v6 !== undefined) {
        if (prefix > 128) throw bad();
        const all = (1n << 128n) - 1n;
        const mask = prefix === 0 ? 0n : (all << BigInt(128 - prefix)) & all;
        return { v6: { base: v6 & mask, mask } };
    }
    throw bad();
}

/**
 * Classifies destination addresses. Results are memoized because a capture repeats the same few
 * hundred destinations across millions of lines.
 */
export class AddressClassifier {
    private readonly v4: Ipv4Range[] = [];
    private readonly v6: Ipv6Range[] = [];
    private readonly cache = new Map<string, AddressClass>();

    /** @param extraPrivateCidrs VNet, peered VNets, pod and service CIDRs: traffic that stays inside Azure's private network. */
    constructor(extraPrivateCidrs: readonly string[] = []) {
        for (const cidr of [...BUILT_IN_V4, ...BUILT_IN_V6, ...extraPrivateCidrs]) {
            const range = parseCidr(cidr);
            if (range.v4) this.v4.push(range.v4);
            if (range.v6) this.v6.push(range.v6);
        }
    }

    classify(address: string): AddressClass {
        // Dotted IPv4 is most of any capture: read it in place, no allocation and no hashing.
        const v4 = fastIpv4(address);
        if (v4 !== undefined) return this.v4.some((r) => (v4 & r.mask) >>> 0 === r.base) ? 'private' : 'public';
        const cached = this.cache.get(address);
        if (cached !== undefined) return cached;
        const result = this.classifyUncached(address);
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

    private classifyUncached(address: string): AddressClass {
        const v4 = parseIpv4(address);
        if (v4 !== undefined) {
            return this.v4.some((r) => (v4 & r.mask) >>> 0 === r.base) ? 'private' : 'public';
        }
        const v6 = parseIpv6(address);
        if (v6 === undefined) return 'invalid';
        // IPv4-mapped IPv6 (::ffff:0:0/96) is an IPv4 destination in disguise.
        if (v6 >> 32n === 0xffffn) return this.classifyUncached(intToIpv4(Number(v6 & 0xffffffffn)));
        return this.v6.some((r) => (v6 & r.mask) === r.base) ? 'private' : 'public';
    }
}

/** parseIpv4 without allocating: digits and dots only, 4 octets of at most 3 digits, each <= 255. */
function fastIpv4(text: string): number | undefined {
    let value = 0;
    let octet = 0;
    let digits = 0;
    let dots = 0;
    for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c >= 48 && c <= 57) {
            octet = octet * 10 + (c - 48);
            if (++digits > 3 || octet > 255) return undefined;
        } else if (c === 46 && digits > 0 && dots < 3) {
            value = value * 256 + octet;
            octet = 0;
            digits = 0;
            dots++;
        } else {
            return undefined;
        }
    }
    if (dots !== 3 || digits === 0) return undefined;
    return (value * 256 + octet) >>> 0;
}

export function intToIpv4(value: number): string {
    return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
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
