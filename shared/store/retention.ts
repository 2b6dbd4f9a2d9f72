/**
 * Retention: deletes the rows that have outlived SNATMON_RETENTION_DAYS from every table the app writes, so storage
 * and the queries behind GET /api/findings and the report stay bounded. What is still in use stays whatever its age:
 * undelivered notifications, open incidents and the findings they point at, and the rows
 * of nodes that hold a lease, a cooldown, an open incident or undelivered decisions.
 *
 * The queries keep to what Azure and Azurite answer alike (azure-facts.md §8): key ranges, `eq` on strings and
 * booleans, `lt` on a DateTime or ISO-text property that every row of that kind has (no null comparisons), plain
 * `and` chains (no `not`, no literal on the left) and single-entity deletes (Azurite has no entity-group
 * transactions). Every row a query returns is checked again here before it is deleted, so a service that returned
 * too much costs a read, never a row; and each delete carries the ETag that was read, so a row changed since then
 * is left for the next run to judge again.
 */
import { odata, type TableClient, type TableEntityResult } from '@azure/data-tables';

import { invertedTime, timeFromInverted, workloadKey } from '../findings/ids.js';
import type { Incident } from '../incidents/types.js';
import { describeStoreFailure, isNotFound, isPreconditionFailed, isUnreachable } from './errors.js';
import { decodeKey, encodeKey } from './keys.js';
import type { Tables } from './tables.js';

/** The tables pruned, in the order a run goes through them: small ones first, the samples (the bulk) last. */
export const PRUNED_TABLES = [
    'outbox',
    'investigations',
    'incidents',
    'offenders',
    'findings',
    'nodes',
    'samples',
] as const;
export type PrunedTable = (typeof PRUNED_TABLES)[number];

export interface TablePruneCounts {
    /** Rows deleted by this run (a row already gone when its delete arrived counts too). */
    deleted: number;
    /**
     * Rows past the retention that stay on purpose: undelivered notifications, open incidents and the findings they point at, nodes still in use, and rows that changed after they were read.
     */
    kept: number;
    /** Rows whose delete failed; the next run tries them again. */
    failed: number;
    /** The run went through the whole table (not stopped by the cap, the time budget or an error). */
    finished: boolean;
    /** The first failure in this table, in our words (status or error code, never a URL or body). */
    error?: string;
}

export interface PruneOptions {
    now: Date;
    retentionDays: number;
    /** Deletes per run at most (default 100,000); a larger backlog is worked off by the following runs. */
    maxDeletes?: number;
    /** Deletes in flight at once (default 16). */
    concurrency?: number;
    /** No query or delete starts after this long (default 7 minutes; host.json's functionTimeout is 10). */
    budgetMs?: number;
    /** Millisecond clock for the time budget (default Date.now). */
    clock?: () => number;
}

export interface PruneResult {
    /** Rows from before this time are past the retention. */
    cutoff: string;
    tables: Record<PrunedTable, TablePruneCounts>;
    /** Set when the run stopped with work left; the next run carries on. */
    stoppedBy?: 'cap' | 'budget';
}

export const DEFAULT_MAX_DELETES = 100_000;
export const DEFAULT_PRUNE_CONCURRENCY = 16;
export const DEFAULT_PRUNE_BUDGET_MS = 7 * 60_000;
const DAY_MS = 86_400_000;
const KEYS = ['PartitionKey', 'RowKey'];

type Entity = TableEntityResult<Record<string, unknown>>;
type Verdict = 'delete' | 'keep' | 'ignore';
type Outcome = 'deleted' | 'kept';

export async function pruneTables(tables: Tables, options: PruneOptions): Promise<PruneResult> {
    const { retentionDays } = options;
    if (!Number.isInteger(retentionDays) || retentionDays < 1) {
        throw new RangeError(`Expected retentionDays to be an integer >= 1, got ${retentionDays}`);
    }
    const cutoff = options.now.getTime() - retentionDays * DAY_MS;
    const run = new PruneRun(options);
    const counts = Object.fromEntries(
        PRUNED_TABLES.map((table) => [table, { deleted: 0, kept: 0, failed: 0, finished: false }]),
    ) as Record<PrunedTable, TablePruneCounts>;
    const result = (): PruneResult => ({
        cutoff: new Date(cutoff).toISOString(),
        tables: counts,
        ...(run.stoppedBy === undefined ? {} : { stoppedBy: run.stoppedBy }),
    });

    let unreachable: string | undefined;
    const step = async (names: readonly PrunedTable[], prune: () => Promise<boolean>): Promise<void> => {
        if (unreachable !== undefined) {
            // Each table would wait out the SDK's retries again for the same answer.
            for (const name of names) counts[name].error ??= `not tried: ${unreachable}`;
            return;
        }
        if (run.stoppedBy !== undefined) return;
        try {
            const finished = await prune();
            for (const name of names) counts[name].finished = finished;
        } catch (err) {
            const reason = describeStoreFailure(err);
            for (const name of names) counts[name].error ??= reason;
            if (isUnreachable(err)) unreachable = reason;
        }
    };

    try {
        await tables.ensure();
    } catch (err) {
        for (const name of PRUNED_TABLES) counts[name].error = describeStoreFailure(err);
        return result();
    }
    await step(['outbox'], () => pruneOutbox(tables, run, cutoff, counts.outbox));
    await step(['investigations'], () => pruneInvestigations(tables, run, cutoff, counts.investigations));
    await step(['incidents', 'offenders'], () =>
        pruneIncidents(tables, run, cutoff, counts.incidents, counts.offenders),
    );
    await step(['findings'], () => pruneFindings(tables, run, cutoff, counts.findings));
    await step(['nodes'], () => pruneNodes(tables, run, options.now.getTime(), cutoff, counts.nodes));
    await step(['samples'], () => pruneSamples(tables, run, cutoff, counts.samples));
    return result();
}

/** The per-run limits (delete cap, time budget, concurrency) shared by every table of one run. */
class PruneRun {
    stoppedBy: 'cap' | 'budget' | undefined;
    private remaining: number;
    private readonly concurrency: number;
    private readonly clock: () => number;
    private readonly deadline: number;

    constructor(options: PruneOptions) {
        this.remaining = options.maxDeletes ?? DEFAULT_MAX_DELETES;
        this.concurrency = options.concurrency ?? DEFAULT_PRUNE_CONCURRENCY;
        for (const [name, value] of [
            ['maxDeletes', this.remaining],
            ['concurrency', this.concurrency],
        ] as const) {
            if (!Number.isInteger(value) || value < 1) {
                throw new RangeError(`Expected ${name} to be an integer >= 1, got ${value}`);
            }
        }
        this.clock = options.clock ?? Date.now;
        this.deadline = this.clock() + (options.budgetMs ?? DEFAULT_PRUNE_BUDGET_MS);
    }

    /** True once the run has stopped; checks the time budget, so loops call it before each query. */
    stopped(): boolean {
        if (this.stoppedBy === undefined && this.clock() >= this.deadline) this.stoppedBy = 'budget';
        return this.stoppedBy !== undefined;
    }

    /** Whether another delete may start. Only asked with a row in hand, so a run is "stopped" only with work left. */
    private mayDelete(): boolean {
        if (this.stoppedBy === undefined && this.remaining <= 0) this.stoppedBy = 'cap';
        return !this.stopped();
    }

    /**
     * Goes through what `filter` selects, page by page, deleting the rows `verdict` condemns (with `remove`, by
     * default a delete conditional on the ETag read) and counting the ones it keeps. False when the run stopped
     * before the end.
     */
    async sweep(
        client: TableClient,
        filter: string,
        select: string[],
        verdict: (entity: Entity) => Verdict,
        counts: TablePruneCounts,
        remove: (entity: Entity) => Promise<Outcome> = (entity) => deleteRead(client, entity),
    ): Promise<boolean> {
        const pages = client.listEntities({ queryOptions: { filter, select } }).byPage({ maxPageSize: 1000 });
        for await (const page of pages) {
            const condemned: Entity[] = [];
            for (const entity of page) {
                const judged = verdict(entity);
                if (judged === 'keep') counts.kept++;
                else if (judged === 'delete') condemned.push(entity);
            }
            if (!(await this.deleteAll(condemned, counts, remove))) return false;
            if (this.stopped()) return false;
        }
        return true;
    }

    private async deleteAll(
        entities: Entity[],
        counts: TablePruneCounts,
        remove: (entity: Entity) => Promise<Outcome>,
    ): Promise<boolean> {
        let next = 0;
        let unreachable: Error | undefined;
        const worker = async (): Promise<void> => {
            while (next < entities.length && unreachable === undefined && this.mayDelete()) {
                const entity = entities[next++] as Entity;
                this.remaining--;
                try {
                    counts[await remove(entity)]++;
                } catch (err) {
                    counts.failed++;
                    counts.error ??= describeStoreFailure(err);
                    // Every error isUnreachable accepts is an Error (a RestError or one of ours).
                    if (isUnreachable(err) && err instanceof Error) unreachable ??= err;
                }
            }
        };
        await Promise.all(Array.from({ length: Math.min(this.concurrency, entities.length) }, worker));
        // No answer at all: the rest of this table (and run) would only wait out the same retries.
        if (unreachable !== undefined) throw unreachable;
        return next >= entities.length;
    }
}

/** Deletes a row as it was read: a 412 means it changed since (judged again next run), a 404 that it is gone. */
async function deleteRead(client: TableClient, entity: Entity): Promise<Outcome> {
    try {
        await client.deleteEntity(entity.partitionKey ?? '', entity.rowKey ?? '', { etag: entity.etag });
        return 'deleted';
    } catch (err) {
        if (isNotFound(err)) return 'deleted';
        if (isPreconditionFailed(err)) return 'kept';
        throw err;
    }
}

/**
 * The partitions of a table, one small query each: the first key after the previous partition. A table of a few
 * partitions with many rows is walked without reading its rows. Azure may answer such a query with an empty page
 * and a continuation token (at a partition server boundary); the page iterator follows it.
 */
async function* partitionKeys(client: TableClient, run: PruneRun): AsyncGenerator<string> {
    let after: string | undefined;
    while (!run.stopped()) {
        const row = await firstRow(client, after === undefined ? undefined : odata`PartitionKey gt ${after}`);
        if (row === undefined) return;
        after = row.partitionKey ?? '';
        yield after;
    }
}

async function firstRow(client: TableClient, filter: string | undefined): Promise<Entity | undefined> {
    const pages = client
        .listEntities({ queryOptions: { ...(filter === undefined ? {} : { filter }), select: KEYS } })
        .byPage({ maxPageSize: 1 });
    for await (const page of pages) {
        if (page[0] !== undefined) return page[0];
    }
    return undefined;
}

function timeOf(value: unknown): number {
    if (value instanceof Date) return value.getTime();
    return typeof value === 'string' ? Date.parse(value) : NaN;
}

/**
 * Delivered notifications whose delivery is older than the cutoff. Undelivered ones are never deleted, however old
 * (a channel that has been down for weeks still gets them): they are only counted as kept.
 */
async function pruneOutbox(tables: Tables, run: PruneRun, cutoff: number, counts: TablePruneCounts) {
    const client = tables.client('outbox');
    const before = new Date(cutoff);
    // Every outbox row has `delivered` and the two DateTimes (EPOCH when unset), so these are no null comparisons.
    const pending = client.listEntities({
        queryOptions: { filter: odata`delivered eq ${false} and createdAt lt ${before}`, select: KEYS },
    });
    for await (const page of pending.byPage()) counts.kept += page.length;
    return run.sweep(
        client,
        odata`delivered eq ${true} and deliveredAt lt ${before}`,
        [...KEYS, 'delivered', 'deliveredAt'],
        (entity) => {
            const deliveredAt = timeOf(entity.deliveredAt);
            return entity.delivered === true && deliveredAt > 0 && deliveredAt < cutoff ? 'delete' : 'ignore';
        },
        counts,
    );
}

/**
 * Investigations not moved on for longer than the cutoff, whatever their status. A queued or running one that old is
 * an orphan: its message expired long before (INVESTIGATION_MESSAGE_TTL_SECONDS, a day, is under the shortest
 * retention), so nothing will finish it. A run that stopped between writing the record and sending the message
 * leaves one.
 */
async function pruneInvestigations(tables: Tables, run: PruneRun, cutoff: number, counts: TablePruneCounts) {
    // updatedAt is ISO text of one fixed width (toISOString), so string order is time order, on Azure and Azurite.
    return run.sweep(
        tables.client('investigations'),
        odata`updatedAt lt ${new Date(cutoff).toISOString()}`,
        [...KEYS, 'updatedAt'],
        (entity) => (timeOf(entity.updatedAt) < cutoff ? 'delete' : 'ignore'),
        counts,
    );
}

/**
 * Incidents resolved longer ago than the cutoff, each with its offender row (the workload-offence index); open
 * incidents opened before the cutoff are counted as kept. The offender row goes first: if it cannot, the incident
 * stays, so the next run still knows the offender row's key.
 */
async function pruneIncidents(
    tables: Tables,
    run: PruneRun,
    cutoff: number,
    counts: TablePruneCounts,
    offenderCounts: TablePruneCounts,
) {
    const incidents = tables.client('incidents');
    const offenders = tables.client('offenders');
    const open = incidents.listEntities({
        queryOptions: { filter: odata`status eq ${'open'}`, select: [...KEYS, 'openedAt'] },
    });
    for await (const entity of open) if (timeOf(entity.openedAt) < cutoff) counts.kept++;

    const removeWithOffence = async (entity: Entity): Promise<Outcome> => {
        const key = offenderKey(entity);
        if (key) {
            try {
                await offenders.deleteEntity(key.partitionKey, key.rowKey);
                offenderCounts.deleted++;
            } catch (err) {
                if (!isNotFound(err)) {
                    offenderCounts.failed++;
                    offenderCounts.error ??= describeStoreFailure(err);
                    throw err;
                }
            }
        }
        return deleteRead(incidents, entity);
    };
    // Resolved incidents have no resolvedAt column: the time is in the JSON, so the date check is done here.
    return run.sweep(
        incidents,
        odata`status eq ${'resolved'}`,
        [...KEYS, 'incident', 'topWorkload', 'Timestamp'],
        (entity) => (resolvedAt(entity) < cutoff ? 'delete' : 'ignore'),
        counts,
        removeWithOffence,
    );
}

function parseIncident(entity: Entity): Partial<Incident> | undefined {
    if (typeof entity.incident !== 'string') return undefined;
    try {
        return JSON.parse(entity.incident) as Partial<Incident>;
    } catch {
        // Cut at the string property limit (capString): fall back on the columns.
        return undefined;
    }
}

/** When the incident resolved; else the row's last write, which is never earlier (NaN, kept, when neither is known). */
function resolvedAt(entity: Entity): number {
    const resolved = timeOf(parseIncident(entity)?.resolvedAt);
    return Number.isNaN(resolved) ? timeOf(entity.timestamp) : resolved;
}

/** The key IncidentStore.recordOffence wrote for this incident's top workload, if it had one. */
function offenderKey(entity: Entity): { partitionKey: string; rowKey: string } | undefined {
    const incident = parseIncident(entity);
    const workload = incident?.topWorkload
        ? workloadKey(incident.topWorkload)
        : typeof entity.topWorkload === 'string'
          ? entity.topWorkload
          : '';
    if (!workload) return undefined;
    try {
        return { partitionKey: encodeKey(workload), rowKey: `${entity.partitionKey ?? ''}~${entity.rowKey ?? ''}` };
    } catch {
        // Too long for a key: recordOffence could not have written a row for it either.
        return undefined;
    }
}

interface OpenIncidentReferences {
    incidents: Set<string>;
    /** Findings the open incidents list: they stay whatever their age. */
    findings: Set<string>;
    /** `<cluster partition>|<node>` of each open incident's node: its node row stays whatever its age. */
    nodes: Set<string>;
}

/** What the open incidents point at: their IDs, the findings they list and their nodes. */
async function openIncidentReferences(tables: Tables): Promise<OpenIncidentReferences> {
    const references: OpenIncidentReferences = { incidents: new Set(), findings: new Set(), nodes: new Set() };
    const open = tables.client('incidents').listEntities({
        queryOptions: { filter: odata`status eq ${'open'}`, select: [...KEYS, 'incident', 'node'] },
    });
    for await (const entity of open) {
        const incident = parseIncident(entity);
        references.incidents.add(incident?.id ?? decodeKey(entity.rowKey ?? ''));
        for (const id of incident?.recentFindingIds ?? []) references.findings.add(id);
        const node = incident?.node ?? (typeof entity.node === 'string' ? entity.node : undefined);
        if (node) references.nodes.add(`${entity.partitionKey ?? ''}|${node}`);
    }
    return references;
}

/**
 * Findings detected before the cutoff, per cluster partition as one RowKey range (inverted time: older is larger),
 * except those an open incident points at (by the finding's incidentId or the incident's recent finding IDs).
 * If the open incidents cannot be read, nothing is deleted: the step fails instead.
 */
async function pruneFindings(tables: Tables, run: PruneRun, cutoff: number, counts: TablePruneCounts) {
    const open = await openIncidentReferences(tables);
    const client = tables.client('findings');
    for await (const partition of partitionKeys(client, run)) {
        // invertedTime(cutoff - 1) sorts just after every RowKey of a finding detected at the cutoff itself.
        const filter = odata`PartitionKey eq ${partition} and RowKey ge ${invertedTime(cutoff - 1)}`;
        const finished = await run.sweep(
            client,
            filter,
            [...KEYS, 'detectedAt', 'incidentId'],
            (entity) => {
                const detectedAt = entity.detectedAt instanceof Date ? entity.detectedAt.getTime() : rowKeyTime(entity);
                if (!(detectedAt < cutoff)) return 'ignore';
                const id = `${entity.partitionKey ?? ''}~${entity.rowKey ?? ''}`;
                const incidentId = typeof entity.incidentId === 'string' ? entity.incidentId : '';
                return open.findings.has(id) || (incidentId !== '' && open.incidents.has(incidentId))
                    ? 'keep'
                    : 'delete';
            },
            counts,
        );
        if (!finished) return false;
    }
    return !run.stopped();
}

/**
 * Node rows (lease, cooldown, incident state) not written for longer than the retention: nodes come and go with
 * scale-in, upgrades and node image updates, and each leaves its row behind. A row stays, whatever its age, while it
 * holds an unexpired lease or cooldown, an open incident (its own incident state, or an open row in the incidents
 * table naming the node) or notifications decided but not yet in the outbox. "Written" is the row's Timestamp: every
 * write the tracker and the lease make moves it. If the open incidents cannot be read, nothing is deleted.
 */
async function pruneNodes(tables: Tables, run: PruneRun, now: number, cutoff: number, counts: TablePruneCounts) {
    const open = await openIncidentReferences(tables);
    const text = (value: unknown) => (typeof value === 'string' ? value : '');
    return run.sweep(
        tables.client('nodes'),
        odata`Timestamp lt ${new Date(cutoff)}`,
        [
            ...KEYS,
            'Timestamp',
            'node',
            'leaseOwner',
            'leaseUntil',
            'cooldownUntil',
            'incident',
            'pending',
            'hasPending',
        ],
        (entity) => {
            if (!(timeOf(entity.timestamp) < cutoff)) return 'ignore';
            const node = text(entity.node) || decodeKey(entity.rowKey ?? '');
            const inUse =
                (text(entity.leaseOwner) !== '' && timeOf(entity.leaseUntil) > now) ||
                timeOf(entity.cooldownUntil) > now ||
                // The tracker writes '' once the node's incident is over; anything else is an open incident.
                text(entity.incident) !== '' ||
                open.nodes.has(`${entity.partitionKey ?? ''}|${node}`) ||
                entity.hasPending === true ||
                !['', '[]'].includes(text(entity.pending));
            return inUse ? 'keep' : 'delete';
        },
        counts,
    );
}

function rowKeyTime(entity: Entity): number {
    const rowKey = entity.rowKey ?? '';
    return /^\d{13}/.test(rowKey) ? timeFromInverted(rowKey) : NaN;
}

/**
 * Samples older than the cutoff. RowKey is `<node>|<inverted time>`, so within a cluster partition each node's
 * old samples are one RowKey range: the walk finds a node with a one-row query, deletes its range, then jumps
 * past the node (':' sorts after every digit). Node names cannot hold '|' (Kubernetes names are DNS labels).
 */
async function pruneSamples(tables: Tables, run: PruneRun, cutoff: number, counts: TablePruneCounts) {
    const client = tables.client('samples');
    for await (const partition of partitionKeys(client, run)) {
        let after: string | undefined;
        while (!run.stopped()) {
            const row = await firstRow(
                client,
                after === undefined
                    ? odata`PartitionKey eq ${partition}`
                    : odata`PartitionKey eq ${partition} and RowKey gt ${after}`,
            );
            if (row === undefined) break;
            const rowKey = row.rowKey ?? '';
            const bar = rowKey.lastIndexOf('|');
            if (bar < 0) {
                // Not a sample key: step over it.
                after = rowKey;
                continue;
            }
            const node = rowKey.slice(0, bar + 1);
            // A sample taken at the cutoff itself has RowKey node|invertedTime(cutoff) and stays.
            const filter = odata`PartitionKey eq ${partition} and RowKey gt ${node + invertedTime(cutoff)} and RowKey lt ${`${node}:`}`;
            const finished = await run.sweep(
                client,
                filter,
                KEYS,
                (entity) => (sampleTime(entity.rowKey ?? '') < cutoff ? 'delete' : 'ignore'),
                counts,
            );
            if (!finished) return false;
            after = `${node}:`;
        }
    }
    return !run.stopped();
}

function sampleTime(rowKey: string): number {
    const time = rowKey.slice(rowKey.lastIndexOf('|') + 1);
    return /^\d{13}$/.test(time) ? timeFromInverted(time) : NaN;
}
