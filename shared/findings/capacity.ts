/**
 * The most nodes a cluster may run, which is what SNAT port arithmetic must hold: per pool, the autoscaler's maximum
 * (else today's count), plus the nodes an upgrade adds on top (maxSurge: a count, or a percentage of the pool rounded
 * up; 10% when unset, as the AKS API documents it).
 */
import type { AgentPoolInfo } from '../detect/types.js';

/** `upgradeSettings.maxSurge` when a pool does not set it (AKS API: "If not specified, the default is 10%"). */
export const DEFAULT_MAX_SURGE = '10%';

export interface MaxNodes {
    count: number;
    /** `autoscaler maxima 10 + upgrade surge 1`, for the fix text. */
    basis: string;
}

/** Surge nodes for a pool of `size` nodes; undefined when the value is neither a count nor a percentage. */
export function surgeNodes(maxSurge: string, size: number): number | undefined {
    const value = maxSurge.trim();
    const percent = /^(\d{1,3})%$/.exec(value);
    if (percent?.[1] !== undefined) return Math.ceil((size * Number(percent[1])) / 100);
    return /^\d{1,4}$/.test(value) ? Number(value) : undefined;
}

export function clusterMaxNodes(pools: readonly AgentPoolInfo[]): MaxNodes | undefined {
    let scaled = 0;
    let surge = 0;
    let autoscaled = false;
    for (const pool of pools) {
        const size = pool.enableAutoScaling && pool.maxCount !== undefined ? pool.maxCount : pool.count;
        if (size === undefined) return undefined;
        autoscaled ||= pool.enableAutoScaling === true && pool.maxCount !== undefined;
        scaled += size;
        surge += surgeNodes(pool.maxSurge ?? DEFAULT_MAX_SURGE, size) ?? 1;
    }
    if (pools.length === 0) return undefined;
    const what = autoscaled ? 'autoscaler maxima' : 'pool sizes';
    return { count: scaled + surge, basis: `${what} ${scaled} + upgrade surge ${surge}` };
}
