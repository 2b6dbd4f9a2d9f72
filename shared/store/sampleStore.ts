import { odata } from '@azure/data-tables';

import { clusterPartition, invertedTime, timeFromInverted } from '../findings/ids.js';
import type { NodeTimeline, TimelineSample } from '../report/renderReport.js';
import { decodeKey, encodeKey } from './keys.js';
import type { Tables } from './tables.js';

export interface NodeSample extends TimelineSample {
    clusterId: string;
    node: string;
    backendIp: string;
}

/**
 * Per-node metric samples for the report's timelines, one row per node per scan. Only nodes that are (or were
 * recently) in trouble are sampled by the caller, so the table grows with incidents, not with fleet size.
 */
export class SampleStore {
    constructor(private readonly tables: Tables) {}

    async add(sample: NodeSample): Promise<void> {
        await this.tables.ensure();
        const at = Date.parse(sample.at);
        await this.tables.client('samples').upsertEntity(
            {
                partitionKey: clusterPartition(sample.clusterId),
                // node first, so one node's samples are a contiguous, newest-first key range
                rowKey: `${encodeKey(sample.node)}|${invertedTime(at)}`,
                clusterId: sample.clusterId,
                node: sample.node,
                backendIp: sample.backendIp,
                at: sample.at,
                ...(sample.failedConnections === undefined ? {} : { failedConnections: sample.failedConnections }),
                ...(sample.usedPorts === undefined ? {} : { usedPorts: sample.usedPorts }),
                ...(sample.allocatedPorts === undefined ? {} : { allocatedPorts: sample.allocatedPorts }),
            },
            'Replace',
        );
    }

    /** Timelines of every sampled node since `since`, oldest sample first, at most `limit` samples per node. */
    async timelines(since: Date, limit = 240): Promise<NodeTimeline[]> {
        await this.tables.ensure();
        const byNode = new Map<string, NodeTimeline>();
        const entities = this.tables.client('samples').listEntities({
            queryOptions: { filter: odata`at ge ${since.toISOString()}` },
        });
        for await (const entity of entities) {
            const rowKey = entity.rowKey ?? '';
            const bar = rowKey.lastIndexOf('|');
            const node = decodeKey(rowKey.slice(0, bar));
            const clusterId = typeof entity.clusterId === 'string' ? entity.clusterId : '';
            const key = `${clusterId}|${node}`;
            let timeline = byNode.get(key);
            if (!timeline) {
                timeline = {
                    clusterId,
                    node,
                    backendIp: typeof entity.backendIp === 'string' ? entity.backendIp : '',
                    samples: [],
                };
                byNode.set(key, timeline);
            }
            if (timeline.samples.length >= limit) continue;
            const sample: TimelineSample = { at: new Date(timeFromInverted(rowKey.slice(bar + 1))).toISOString() };
            if (typeof entity.failedConnections === 'number') sample.failedConnections = entity.failedConnections;
            if (typeof entity.usedPorts === 'number') sample.usedPorts = entity.usedPorts;
            if (typeof entity.allocatedPorts === 'number') sample.allocatedPorts = entity.allocatedPorts;
            timeline.samples.push(sample);
        }
        for (const timeline of byNode.values()) timeline.samples.reverse();
        return [...byNode.values()];
    }
}
