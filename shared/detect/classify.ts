import type { BackendSamples, NodeState, PortSamples } from './types.js';

export interface Thresholds {
    /** Failed SNAT connections in the window at or over which a node is exhausted. */
    failedConnections: number;
    /** Used / allocated ports, in percent, at or over which a node is at risk. */
    atRiskPercent: number;
}

export interface Classification {
    state: NodeState;
    usedPercent: number | null;
}

/** Exhausted beats at risk beats ok; with no data at all the state is unknown, never ok. */
export function classifyBackend(samples: BackendSamples, thresholds: Thresholds): Classification {
    const { failedConnections } = samples;
    const usedPercent = usedPercentOf(samples);
    if (failedConnections !== undefined && failedConnections >= thresholds.failedConnections) {
        return { state: 'exhausted', usedPercent };
    }
    if (usedPercent !== null && usedPercent >= thresholds.atRiskPercent) return { state: 'at-risk', usedPercent };
    if (usedPercent !== null || failedConnections !== undefined) return { state: 'ok', usedPercent };
    return { state: 'unknown', usedPercent };
}

/** Used over allocated ports, in percent; null when either is missing or nothing is allocated. */
export function usedPercentOf(ports: PortSamples): number | null {
    const { usedPorts, allocatedPorts } = ports;
    return usedPorts !== undefined && allocatedPorts !== undefined && allocatedPorts > 0
        ? (usedPorts / allocatedPorts) * 100
        : null;
}

/**
 * The protocol the at-risk rule fires on first: the highest used/allocated share, then (with no share to compare)
 * the most ports used, then by name. Applying the threshold to it applies it to every protocol.
 */
export function busiestProtocol(protocols: Readonly<Record<string, PortSamples>>): [string, PortSamples] | undefined {
    const rank = (ports: PortSamples): [number, number] => [usedPercentOf(ports) ?? -1, ports.usedPorts ?? -1];
    let best: [string, PortSamples] | undefined;
    for (const entry of Object.entries(protocols).sort(([a], [b]) => a.localeCompare(b))) {
        if (!best) {
            best = entry;
            continue;
        }
        const [share, used] = rank(entry[1]);
        const [bestShare, bestUsed] = rank(best[1]);
        if (share > bestShare || (share === bestShare && used > bestUsed)) best = entry;
    }
    return best;
}

const ORDER: Record<NodeState, number> = { exhausted: 0, 'at-risk': 1, unknown: 2, ok: 3 };

export function compareStates(a: NodeState, b: NodeState): number {
    return ORDER[a] - ORDER[b];
}

/** Orders IPv4 addresses numerically (10.0.0.9 before 10.0.0.10); anything else by text. */
export function compareIps(a: string, b: string): number {
    const pa = a.split('.').map(Number);
    const pb = b.split('.').map(Number);
    if (pa.length === 4 && pb.length === 4 && [...pa, ...pb].every((n) => Number.isInteger(n))) {
        for (let i = 0; i < 4; i++) {
            const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
            if (diff !== 0) return diff;
        }
        return 0;
    }
    return a.localeCompare(b);
}
