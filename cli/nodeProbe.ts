/** The node probe for `snat-monitor investigate`: shared/probe's run command, its output reader and the text view. */
import { formatAnalysis } from '../shared/analyze/formatText.js';
import type { Analysis } from '../shared/analyze/types.js';
import type { Config } from '../shared/config.js';
import { analyzeProbeOutput } from '../shared/probe/analyzeProbe.js';
import { buildRunCommand } from '../shared/probe/manifest.js';
import type { NodeProbe } from './investigateCommand.js';

/** What `analyze` returns: the analyze JSON plus what the probe said about its collectors. */
export interface ProbeResultJson extends Analysis {
    probe: {
        complete: boolean;
        version?: number;
        error?: string;
        collectors: { name: string; status: string; reason?: string }[];
    };
}

/** `settings` is read when the probe is first used, so `investigate --help` works whatever the settings say. */
export function createNodeProbe(settings: () => Pick<Config, 'probe'>): NodeProbe {
    let cached: Pick<Config, 'probe'> | undefined;
    const config = () => (cached ??= settings());
    return {
        request: ({ node }) => {
            const plan = buildRunCommand({
                nodeName: node.name,
                parameters: { windowSeconds: config().probe.windowSeconds },
            });
            return {
                command: plan.command,
                files: Object.entries(plan.files).map(([name, content]) => ({ name, content })),
                // The direct Kubernetes executor creates this pod itself; run command gets it in `files`.
                pod: plan.pod.pod as unknown as Record<string, unknown>,
            };
        },
        analyze: (output, context) => {
            const result = analyzeProbeOutput(output, {
                privateCidrs: config().probe.privateCidrs,
                ...(context.allocatedPorts === undefined ? {} : { allocatedPorts: context.allocatedPorts }),
            });
            const probe: ProbeResultJson['probe'] = {
                complete: result.probe.complete,
                collectors: result.collectors.map((c) => ({
                    name: c.name,
                    status: c.status,
                    ...(c.reason === undefined ? {} : { reason: c.reason }),
                })),
            };
            if (result.probe.version !== undefined) probe.version = result.probe.version;
            if (result.probe.error !== undefined) probe.error = result.probe.error;
            const json: ProbeResultJson = { ...result.analysis, probe };
            return json as unknown as Record<string, unknown>;
        },
        format: (analysis) => {
            const result = analysis as unknown as ProbeResultJson;
            const missing = result.probe.collectors.filter((c) => c.status !== 'ok');
            const lines = missing.map((c) => `  ${c.name}: ${c.status}${c.reason ? ` (${c.reason})` : ''}`);
            const collectors = lines.length > 0 ? `\nCollectors that did not contribute:\n${lines.join('\n')}\n` : '';
            return `${formatAnalysis(result)}${collectors}`;
        },
    };
}
