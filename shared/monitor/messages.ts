/**
 * The queue message that fans one node's investigation out to a Functions instance. Validated on the way in: a
 * message is data from storage, and the node name ends up in a pod manifest.
 */
import { PROTOCOL_NAME } from '../detect/metricsQuery.js';
import type { NatGatewayRef, NodeState, ReadingWindow } from '../findings/types.js';
import type { NodeLease } from '../store/nodeStateStore.js';

/** What the metrics said when the investigation was queued; absent for manual requests. */
export interface QueuedObservation {
    state: NodeState;
    failedConnections: number;
    usedPorts: number;
    allocatedPorts: number;
    /** The protocol the port counts are of (`TCP`, `UDP`). */
    protocol?: string;
    observedAt: string;
    window?: ReadingWindow;
    usedPortsPerMinute?: number;
    /** The reading was a NAT gateway's: the finding goes to the gateway's incident. */
    natGateway?: NatGatewayRef;
}

/** What started an investigation: the timer's scan, a person (HTTP API or CLI), or an Azure Monitor alert. */
export type InvestigationTrigger = 'scan' | 'manual' | 'alert';

export interface InvestigationMessage {
    version: 1;
    investigationId: string;
    clusterId: string;
    node: string;
    backendIp?: string;
    trigger: InvestigationTrigger;
    requestedAt: string;
    /** The node lease the sender took; released (with cooldown on success) when the investigation ends. */
    lease: { owner: string; claimedAt: string; until: string };
    observation?: QueuedObservation;
}

/** The queue transport: Storage Queues in Azure and in tests (Azurite). */
export interface InvestigationQueue {
    send(message: InvestigationMessage): Promise<void>;
}

export class MessageError extends Error {
    override readonly name = 'MessageError';
}

const RFC1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Checks a message from the queue (the host hands over parsed JSON, or a string when it was not JSON). */
export function parseInvestigationMessage(value: unknown): InvestigationMessage {
    let data = value;
    if (typeof data === 'string') {
        try {
            data = JSON.parse(data) as unknown;
        } catch {
            throw new MessageError('Expected an investigation message in JSON, got text that does not parse');
        }
    }
    if (typeof data !== 'object' || data === null) throw new MessageError('Expected an investigation message object');
    const m = data as Record<string, unknown>;
    const text = (key: string): string => {
        const v = m[key];
        if (typeof v !== 'string' || v.length === 0 || v.length > 1024) {
            throw new MessageError(`Expected investigation message field "${key}" to be a non-empty string`);
        }
        return v;
    };
    if (m.version !== 1) throw new MessageError(`Expected investigation message version 1, got ${String(m.version)}`);
    const node = text('node');
    if (!RFC1123_SUBDOMAIN.test(node)) {
        throw new MessageError('Expected investigation message field "node" to be a Kubernetes node name (RFC 1123)');
    }
    const trigger = text('trigger');
    if (trigger !== 'scan' && trigger !== 'manual' && trigger !== 'alert') {
        throw new MessageError('Expected trigger scan, manual or alert');
    }
    const lease = m.lease as Record<string, unknown> | undefined;
    if (
        typeof lease !== 'object' ||
        typeof lease.owner !== 'string' ||
        typeof lease.claimedAt !== 'string' ||
        typeof lease.until !== 'string'
    ) {
        throw new MessageError('Expected investigation message field "lease" with owner, claimedAt and until');
    }
    const message: InvestigationMessage = {
        version: 1,
        investigationId: text('investigationId'),
        clusterId: text('clusterId'),
        node,
        trigger,
        requestedAt: text('requestedAt'),
        lease: { owner: lease.owner, claimedAt: lease.claimedAt, until: lease.until },
    };
    if (typeof m.backendIp === 'string') message.backendIp = m.backendIp;
    const observation = m.observation as Record<string, unknown> | undefined;
    if (typeof observation === 'object') {
        const { state, failedConnections, usedPorts, allocatedPorts, protocol, observedAt } = observation;
        if (
            (state === 'exhausted' || state === 'at-risk' || state === 'ok') &&
            typeof failedConnections === 'number' &&
            typeof usedPorts === 'number' &&
            typeof allocatedPorts === 'number' &&
            (protocol === undefined || (typeof protocol === 'string' && PROTOCOL_NAME.test(protocol))) &&
            typeof observedAt === 'string'
        ) {
            message.observation = {
                state,
                failedConnections,
                usedPorts,
                allocatedPorts,
                ...(protocol === undefined ? {} : { protocol }),
                observedAt,
            };
            const { window, usedPortsPerMinute, natGateway } = observation as {
                window?: Record<string, unknown>;
                usedPortsPerMinute?: unknown;
                natGateway?: Record<string, unknown>;
            };
            if (window !== undefined) {
                if (typeof window.start !== 'string' || typeof window.end !== 'string')
                    throw new MessageError('Expected observation field "window" with start and end times');
                message.observation.window = { start: window.start, end: window.end };
            }
            if (usedPortsPerMinute !== undefined) {
                if (typeof usedPortsPerMinute !== 'number' || !Number.isFinite(usedPortsPerMinute))
                    throw new MessageError('Expected observation field "usedPortsPerMinute" to be a number');
                message.observation.usedPortsPerMinute = usedPortsPerMinute;
            }
            if (natGateway !== undefined) {
                if (typeof natGateway.id !== 'string' || typeof natGateway.name !== 'string')
                    throw new MessageError('Expected observation field "natGateway" with id and name');
                message.observation.natGateway = { id: natGateway.id, name: natGateway.name };
            }
        } else {
            throw new MessageError('Expected investigation message field "observation" with state and port counts');
        }
    }
    return message;
}

export function leaseOf(message: InvestigationMessage): NodeLease {
    return {
        clusterId: message.clusterId,
        node: message.node,
        owner: message.lease.owner,
        claimedAt: new Date(message.lease.claimedAt),
        until: new Date(message.lease.until),
    };
}

export function leaseForMessage(lease: NodeLease): InvestigationMessage['lease'] {
    return { owner: lease.owner, claimedAt: lease.claimedAt.toISOString(), until: lease.until.toISOString() };
}
