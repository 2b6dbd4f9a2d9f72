/**
 * Which channels a message goes to. The defaults (SNATMON_TEAMS_WEBHOOK_URL, ...) get every message; a namespace
 * mapped in SNATMON_NAMESPACE_CHANNELS also gets (or, with SNATMON_NAMESPACE_ROUTING=instead, alone gets) the
 * messages whose culprits run in it. Each channel has its own outbox partition, `slack` or `slack@payments`, so a
 * team's failing webhook backs off alone and never holds up the defaults or another team.
 */
import type { Finding } from '../findings/types.js';
import { CHANNEL_NAMES, type ChannelName, type ChannelTarget, type ChannelTargets } from './types.js';

/** Where a message is queued (the outbox partition) and how it is drawn. Holds no URL. */
export interface Route {
    key: string;
    kind: ChannelName;
}

/** A route with the URL (and secret) it is delivered to; only the drain holds these. */
export interface Destination extends Route {
    target: ChannelTarget;
}

/** `alongside`: a mapped namespace's channels get its messages as well as the defaults; `instead`: in place of them. */
export type NamespaceRoutingMode = 'alongside' | 'instead';

export const NAMESPACE_ROUTING_MODES: readonly NamespaceRoutingMode[] = ['alongside', 'instead'];

/** SNATMON_NAMESPACE_CHANNELS and SNATMON_NAMESPACE_ROUTING, checked by loadConfig. The URLs are secrets. */
export interface NamespaceChannels {
    mode: NamespaceRoutingMode;
    namespaces: Readonly<Record<string, ChannelTargets>>;
}

/** The same mapping with the channel kinds only: what the tracker needs to queue messages. */
export interface NamespaceRouting {
    mode: NamespaceRoutingMode;
    namespaces: Readonly<Record<string, readonly ChannelName[]>>;
}

export function routeKey(kind: ChannelName, namespace?: string): string {
    return namespace === undefined ? kind : `${kind}@${namespace}`;
}

/** Every channel the outbox may hold messages for: the defaults, then each mapped namespace's. */
export function destinations(defaults: ChannelTargets, byNamespace?: NamespaceChannels): Destination[] {
    const all = targetsOf(defaults).map(({ kind, target }) => ({ key: routeKey(kind), kind, target }));
    for (const namespace of Object.keys(byNamespace?.namespaces ?? {}).sort()) {
        for (const { kind, target } of targetsOf(byNamespace?.namespaces[namespace] ?? {}))
            all.push({ key: routeKey(kind, namespace), kind, target });
    }
    return all;
}

export function namespaceRouting(byNamespace: NamespaceChannels): NamespaceRouting {
    const namespaces: Record<string, ChannelName[]> = {};
    for (const [namespace, targets] of Object.entries(byNamespace.namespaces))
        namespaces[namespace] = targetsOf(targets).map((t) => t.kind);
    return { mode: byNamespace.mode, namespaces };
}

/**
 * The routes of a message whose culprits run in `namespaces`. `instead` leaves the defaults out only when every one
 * of those namespaces has channels of its own: a culprit no team owns still reaches the defaults.
 */
export function routesFor(
    defaults: readonly ChannelName[],
    routing: NamespaceRouting | undefined,
    namespaces: readonly string[],
): Route[] {
    const unique = [...new Set(namespaces)].sort();
    const owned = (namespace: string) => routing !== undefined && Object.hasOwn(routing.namespaces, namespace);
    const mapped = unique
        .filter(owned)
        .flatMap((namespace) =>
            (routing?.namespaces[namespace] ?? []).map((kind) => ({ key: routeKey(kind, namespace), kind })),
        );
    const base = defaults.map((kind) => ({ key: routeKey(kind), kind }));
    const everyOneOwned = unique.length > 0 && unique.every(owned);
    return routing?.mode === 'instead' && everyOneOwned ? mapped : [...base, ...mapped];
}

/** The namespaces of the finding's culprits that hold SNAT ports: the ones a message names. */
export function culpritNamespaces(finding: Finding | undefined): string[] {
    const namespaces = (finding?.analysis?.culprits ?? [])
        .filter((c) => c.snatPortsHeld > 0)
        .flatMap((c) => (c.namespace === undefined ? [] : [c.namespace]));
    return [...new Set(namespaces)].sort();
}

function targetsOf(targets: ChannelTargets): { kind: ChannelName; target: ChannelTarget }[] {
    return CHANNEL_NAMES.flatMap((kind) => {
        const target = targets[kind];
        return target ? [{ kind, target }] : [];
    });
}
