/**
 * One text form per IP address, whichever tool printed it: ss brackets IPv6 and appends `%iface`, netstat
 * prints IPv4-mapped addresses as `::ffff:a.b.c.d` (or plain IPv4), /proc/net/nf_conntrack writes all eight
 * IPv6 groups with leading zeros. Canonical form: dotted IPv4 (also for IPv4-mapped IPv6), RFC 5952 IPv6.
 * The one IPv4/IPv6 parser on the JS side: classification (analyze/addressClass.ts), the settings, requests and alerts
 * that name an address, and the webhook URL check all read addresses here.
 */

export interface HostPort {
    /** Canonical address; `::` for ss's `*` (the IPv6 any address of a dual-stack socket). */
    host: string;
    /** 0 for `*`. */
    port: number;
    /** Interface after `%` (`127.0.0.1%lo:53`, `[fe80::1]%eth0:80`), without the `%`. */
    zone?: string;
}

/** The canonical text of an IP address, or undefined when `text` is not one (host names, masked `10.x.x.x`). */
export function canonicalAddress(text: string): string | undefined {
    let s = text.trim();
    if (s === '*') return '::';
    if (s.startsWith('[')) {
        if (!s.endsWith(']')) return undefined;
        s = s.slice(1, -1);
    }
    const percent = s.indexOf('%');
    if (percent !== -1) s = s.slice(0, percent);
    if (s.includes(':')) {
        const groups = parseIpv6(s);
        return groups === undefined ? undefined : formatIpv6(groups);
    }
    return parseIpv4(s) === -1 ? undefined : s;
}

/** The 32-bit value of a dotted quad (no leading zeros, octets <= 255), or undefined. */
export function ipv4Value(text: string): number | undefined {
    const value = parseIpv4(text);
    return value === -1 ? undefined : value;
}

/** The dotted quad of a 32-bit value. */
export function formatIpv4(value: number): string {
    return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** The eight 16-bit groups of an IPv6 address (no brackets, zone or port), or undefined. */
export function ipv6Groups(text: string): number[] | undefined {
    return parseIpv6(text);
}

/** The 128-bit value of an IPv6 address (no brackets, zone or port), or undefined. */
export function ipv6Value(text: string): bigint | undefined {
    const groups = parseIpv6(text);
    return groups?.reduce((value, group) => (value << 16n) | BigInt(group), 0n);
}

/** True for an IPv4 or IPv6 address literal, with no brackets, zone or port. */
export function isIpAddress(text: string): boolean {
    return parseIpv4(text) !== -1 || (text.length <= 45 && parseIpv6(text) !== undefined);
}

/**
 * Splits `host:port` as ss and netstat print it: `1.2.3.4:80`, `[::1]:80`, `[fe80::1]%eth0:80`,
 * `127.0.0.1%lo:53`, `*:*`, `0.0.0.0:*`, and netstat's unbracketed IPv6 (`:::22`, `::1:9090`,
 * `::ffff:1.2.3.4:443`) where the port is after the last colon. Undefined when either part is not numeric.
 */
export function splitHostPort(text: string): HostPort | undefined {
    const s = text.trim();
    let hostText: string;
    let portText: string;
    let zone: string | undefined;
    if (s.startsWith('[')) {
        const close = s.indexOf(']');
        if (close === -1) return undefined;
        hostText = s.slice(1, close);
        let rest = s.slice(close + 1);
        if (rest.startsWith('%')) {
            const colon = rest.lastIndexOf(':');
            if (colon === -1) return undefined;
            zone = rest.slice(1, colon);
            rest = rest.slice(colon);
        }
        if (!rest.startsWith(':')) return undefined;
        portText = rest.slice(1);
    } else {
        const colon = s.lastIndexOf(':');
        if (colon <= 0) return undefined;
        hostText = s.slice(0, colon);
        portText = s.slice(colon + 1);
    }
    const percent = hostText.indexOf('%');
    if (percent !== -1) {
        if (zone !== undefined) return undefined;
        zone = hostText.slice(percent + 1);
        hostText = hostText.slice(0, percent);
    }
    if (zone === '') return undefined;
    const port = parsePort(portText);
    if (port === undefined) return undefined;
    const host = canonicalAddress(hostText);
    if (host === undefined) return undefined;
    return zone === undefined ? { host, port } : { host, port, zone };
}

/** True for addresses a person masked before sharing, like the runbook's `10.x.x.x:xxxx`. */
export function isMaskedAddress(text: string): boolean {
    return /x/i.test(text) && /^[[\]0-9a-fx.:*%]+$/i.test(text);
}

/** Why `text` is not a usable `host:port`, for skipped-line reasons. */
export function addressProblem(text: string): string {
    if (isMaskedAddress(text)) return 'masked address';
    if (/:[a-z][a-z0-9-]*$/i.test(text)) return 'port is a service name (run the tool with -n)';
    return `invalid address ${JSON.stringify(text.slice(0, 60))}`;
}

function parsePort(text: string): number | undefined {
    if (text === '*') return 0;
    if (text.length === 0 || text.length > 5) return undefined;
    let value = 0;
    for (let i = 0; i < text.length; i++) {
        const digit = text.charCodeAt(i) - 48;
        if (digit < 0 || digit > 9) return undefined;
        value = value * 10 + digit;
    }
    return value <= 65535 ? value : undefined;
}

/**
 * The IPv4 address in `text` from `start` to the end as a 32-bit number, or -1. Leading zeros are refused:
 * inet_aton would read them as octal.
 */
function parseIpv4(text: string, start = 0): number {
    let value = 0;
    let octets = 0;
    let i = start;
    while (octets < 4) {
        if (octets > 0) {
            if (text.charCodeAt(i) !== 46) return -1;
            i++;
        }
        const first = i;
        let octet = 0;
        for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) {
            octet = octet * 10 + c - 48;
            if (octet > 255 || (i > first && text.charCodeAt(first) === 48)) return -1;
        }
        if (i === first) return -1;
        value = value * 256 + octet;
        octets++;
    }
    return i === text.length ? value : -1;
}

function hexDigit(c: number): number {
    if (c >= 48 && c <= 57) return c - 48;
    if (c >= 97 && c <= 102) return c - 87;
    if (c >= 65 && c <= 70) return c - 55;
    return -1;
}

/**
 * The eight 16-bit groups, or undefined. One pass in the manner of the WHATWG URL IPv6 parser: `::` compression
 * and a dotted IPv4 tail are accepted.
 */
function parseIpv6(text: string): number[] | undefined {
    const groups = [0, 0, 0, 0, 0, 0, 0, 0];
    const n = text.length;
    let piece = 0;
    let compress = -1;
    let i = 0;
    if (text.charCodeAt(0) === 58) {
        if (text.charCodeAt(1) !== 58) return undefined;
        i = 2;
        piece = 1;
        compress = 1;
    }
    while (i < n) {
        if (piece === 8) return undefined;
        if (text.charCodeAt(i) === 58) {
            if (compress !== -1) return undefined;
            i++;
            piece++;
            compress = piece;
            continue;
        }
        let value = 0;
        let length = 0;
        for (let d = hexDigit(text.charCodeAt(i)); length < 4 && d !== -1; d = hexDigit(text.charCodeAt(i))) {
            value = value * 16 + d;
            i++;
            length++;
        }
        const c = text.charCodeAt(i);
        if (c === 46) {
            if (length === 0 || piece > 6) return undefined;
            const ipv4 = parseIpv4(text, i - length);
            if (ipv4 === -1) return undefined;
            groups[piece++] = Math.floor(ipv4 / 65536);
            groups[piece++] = ipv4 % 65536;
            i = n;
            break;
        }
        if (length === 0) return undefined;
        if (c === 58) {
            i++;
            if (i === n) return undefined;
        } else if (i < n) {
            return undefined;
        }
        groups[piece++] = value;
    }
    if (compress === -1) return piece === 8 ? groups : undefined;
    // Move the groups after `::` to the end; the zeros in between are the compressed run.
    let swaps = piece - compress;
    for (let last = 7; last !== 0 && swaps > 0; last--, swaps--) {
        const from = compress + swaps - 1;
        const moved = groups[from] ?? 0;
        groups[from] = groups[last] ?? 0;
        groups[last] = moved;
    }
    return groups;
}

function formatIpv6(groups: number[]): string {
    // IPv4-mapped (::ffff:a.b.c.d): the socket is IPv6 but the peer is an IPv4 host.
    if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0) {
        if (groups[5] === 0xffff) {
            const high = groups[6] ?? 0;
            const low = groups[7] ?? 0;
            return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
        }
    }
    // RFC 5952: compress the longest run of two or more zero groups, the first one on a tie.
    let bestStart = -1;
    let bestLength = 1;
    for (let i = 0; i < 8;) {
        if (groups[i] !== 0) {
            i++;
            continue;
        }
        let j = i;
        while (j < 8 && groups[j] === 0) j++;
        if (j - i > bestLength) {
            bestStart = i;
            bestLength = j - i;
        }
        i = j;
    }
    let out = '';
    for (let i = 0; i < 8; i++) {
        if (i === bestStart) {
            out += '::';
            i += bestLength - 1;
            continue;
        }
        if (out.length > 0 && !out.endsWith(':')) out += ':';
        out += (groups[i] ?? 0).toString(16);
    }
    return out;
}
