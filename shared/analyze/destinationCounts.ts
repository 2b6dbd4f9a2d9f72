/**
 * Connections per destination, address then port: a capture can hold hundreds of thousands of (address, port)
 * pairs, and nesting them costs no string per pair.
 */
export type DestinationCounts = Map<string, Map<number, number>>;

export interface DestinationCount {
    ip: string;
    port: number;
    count: number;
}

export function addDestination(counts: DestinationCounts, ip: string, port: number, n: number): void {
    let ports = counts.get(ip);
    if (ports === undefined) counts.set(ip, (ports = new Map<number, number>()));
    ports.set(port, (ports.get(port) ?? 0) + n);
}

/** The sum of several counts. */
export function sumDestinations(all: Iterable<DestinationCounts>): DestinationCounts {
    const sum: DestinationCounts = new Map();
    for (const counts of all) {
        for (const [ip, ports] of counts) for (const [port, n] of ports) addDestination(sum, ip, port, n);
    }
    return sum;
}

/** Most connections first; ties by address (as text), then port. */
function compare(a: DestinationCount, b: DestinationCount): number {
    return b.count - a.count || a.ip.localeCompare(b.ip) || a.port - b.port;
}

/**
 * The first `top` destinations in that order: what sorting them all and cutting would give, in one pass that keeps
 * a short sorted list.
 */
export function topDestinations(counts: DestinationCounts, top: number): DestinationCount[] {
    const kept: DestinationCount[] = [];
    if (top <= 0) return kept;
    for (const [ip, ports] of counts) {
        for (const [port, count] of ports) {
            const last = kept[kept.length - 1];
            // Most pairs lose on their count alone, before any object is made for them.
            if (kept.length === top && last !== undefined && count < last.count) continue;
            const entry = { ip, port, count };
            if (kept.length === top && last !== undefined && compare(entry, last) >= 0) continue;
            let at = kept.length;
            while (at > 0 && compare(entry, kept[at - 1] ?? entry) < 0) at--;
            kept.splice(at, 0, entry);
            if (kept.length > top) kept.pop();
        }
    }
    return kept;
}
