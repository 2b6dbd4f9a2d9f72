/**
 * What a webhook URL setting may hold. Refused at start-up: what fetch can never send to (credentials in the URL, a
 * port fetch blocks) and addresses that must never be called (link-local, where the instance metadata service
 * answers; Azure's platform address; unspecified, multicast and reserved ones). Private ranges (10/8, 172.16/12,
 * 192.168/16, fc00::/7) are allowed on purpose: a receiver inside the VNet or reached over a VPN is a normal setup.
 * Only literal addresses are checked; a host name is resolved when the message is sent.
 */
import { ipv4Value, ipv6Value } from '../parse/address.js';

/** Ports the Fetch standard blocks ("bad port"): fetch fails every request to them. */
export const FETCH_BAD_PORTS: ReadonlySet<number> = new Set([
    1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110,
    111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532,
    540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061,
    6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** The instance metadata service (IMDS) of every Azure VM and App Service instance. */
export const INSTANCE_METADATA_ADDRESS = '169.254.169.254';
/** Azure's virtual public IP for platform services (WireServer, DNS, health probes). */
export const AZURE_PLATFORM_ADDRESS = '168.63.129.16';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

interface Range {
    first: number;
    bits: number;
    what: string;
}

/** IPv4 ranges no webhook can live in, each with the words that say why. */
const REFUSED_V4: Range[] = [
    range('0.0.0.0', 8, 'an unspecified address (0.0.0.0/8)'),
    range(
        '169.254.0.0',
        16,
        `a link-local address (169.254.0.0/16, where the instance metadata service ${INSTANCE_METADATA_ADDRESS} answers)`,
    ),
    range(AZURE_PLATFORM_ADDRESS, 32, `Azure's platform address ${AZURE_PLATFORM_ADDRESS}`),
    range('224.0.0.0', 4, 'a multicast address (224.0.0.0/4)'),
    range('240.0.0.0', 4, 'a reserved or broadcast address (240.0.0.0/4)'),
];

function range(address: string, bits: number, what: string): Range {
    return { first: ipv4Value(address) ?? 0, bits, what };
}

function refusedIpv4(value: number): string | undefined {
    for (const r of REFUSED_V4) {
        const shift = 32 - r.bits;
        if (Math.floor(value / 2 ** shift) === Math.floor(r.first / 2 ** shift)) return r.what;
    }
    return undefined;
}

function refusedIpv6(value: bigint): string | undefined {
    if (value === 0n) return 'the unspecified address (::)';
    // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) forms reach the IPv4 address.
    if (value >> 32n === 0xffffn || (value >> 32n === 0n && value > 1n))
        return refusedIpv4(Number(value & 0xffffffffn));
    if (value >> 118n === 0x3fan) return 'a link-local address (fe80::/10)';
    if (value >> 120n === 0xffn) return 'a multicast address (ff00::/8)';
    return undefined;
}

/**
 * Why `text` cannot be a webhook URL, in words that never quote it (it is a secret), or undefined when it can.
 * `what` names the receiver ("a Slack incoming webhook").
 */
export function webhookUrlProblem(text: string, what: string): string | undefined {
    let url: URL;
    try {
        url = new URL(text);
    } catch {
        return `to be an https URL of ${what}`;
    }
    if (!(url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)))) {
        return `to be an https URL of ${what}`;
    }
    if (url.username !== '' || url.password !== '') {
        return `to be an https URL of ${what} without a user name or password in it (user:password@host): fetch refuses such URLs`;
    }
    const port = url.port === '' ? undefined : Number(url.port);
    if (port !== undefined && FETCH_BAD_PORTS.has(port)) {
        return `to be an https URL of ${what} on a port fetch allows: port ${port} is one the Fetch standard blocks`;
    }
    const host = url.hostname;
    const v4 = ipv4Value(host);
    const v6 = host.startsWith('[') ? ipv6Value(host.slice(1, -1)) : undefined;
    const refused = v4 !== undefined ? refusedIpv4(v4) : v6 !== undefined ? refusedIpv6(v6) : undefined;
    if (refused) return `to be an https URL of ${what}, not one whose host is ${refused}`;
    return undefined;
}
