/** Gathers what the HTML report shows from the store: timelines, incidents, recent findings, repeat offenders. */
import { workloadKey } from '../findings/ids.js';
import type { Finding, WorkloadRef } from '../findings/types.js';
import { topWorkload } from '../findings/workloads.js';
import type { Incident } from '../incidents/types.js';
import type { RepeatOffender, ReportData } from '../report/renderReport.js';
import type { SnatStore } from '../store/snatStore.js';

export interface ReportOptions {
    /** Clusters whose findings to list (the monitored ones). */
    clusterIds: readonly string[];
    since: Date;
    now: Date;
    atRiskPercent: number;
    banner?: string;
    findingLink?: (finding: Finding) => string;
    /** Findings to show in full (newest first). */
    maxFindings?: number;
}

export async function buildReportData(store: SnatStore, options: ReportOptions): Promise<ReportData> {
    const [timelines, open] = await Promise.all([store.samples.timelines(options.since), store.incidents.listOpen()]);
    const resolved: Incident[] = [];
    const summaries = [];
    for (const clusterId of options.clusterIds) {
        const page = await store.findings.list({ clusterId, from: options.since, pageSize: 50 });
        summaries.push(...page.items);
        resolved.push(
            ...(await store.incidents.list(clusterId, 'resolved')).filter(
                (i) => i.resolvedAt && Date.parse(i.resolvedAt) >= options.since.getTime(),
            ),
        );
    }
    summaries.sort((a, b) => b.detectedAt.localeCompare(a.detectedAt));
    const findings: Finding[] = [];
    for (const summary of summaries.slice(0, options.maxFindings ?? 20)) {
        const finding = await store.findings.get(summary.id);
        if (finding) findings.push(finding);
    }
    const workloads = new Map<string, WorkloadRef>();
    for (const incident of [...open, ...resolved]) {
        if (incident.topWorkload) workloads.set(workloadKey(incident.topWorkload), incident.topWorkload);
    }
    for (const finding of findings) {
        const workload = topWorkload(finding.analysis);
        if (workload) workloads.set(workloadKey(workload), workload);
    }
    const offenders: RepeatOffender[] = [];
    for (const workload of workloads.values()) {
        const offences = await store.incidents.listOffences(workload);
        const incidents = new Set(offences.map((o) => `${o.clusterId.toLowerCase()}|${o.incidentId}`));
        if (incidents.size < 2) continue;
        offenders.push({
            workload,
            incidents: incidents.size,
            clusters: [...new Set(offences.map((o) => o.clusterId))],
            nodes: [...new Set(offences.map((o) => o.node))],
        });
    }
    offenders.sort((a, b) => b.incidents - a.incidents);
    const data: ReportData = {
        generatedAt: options.now.toISOString(),
        atRiskPercent: options.atRiskPercent,
        timelines,
        incidents: [...open, ...resolved],
        findings,
        offenders,
    };
    if (options.banner !== undefined) data.banner = options.banner;
    if (options.findingLink) data.findingLink = options.findingLink;
    return data;
}
