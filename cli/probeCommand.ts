import { parseArgs } from 'node:util';

import { probeWindowSeconds } from '../shared/config.js';
import { probeRunCommand } from '../shared/monitor/probeNode.js';
import { ProbeManifestError } from '../shared/probe/manifest.js';
import { type CliIo, EXIT_OK, UsageError } from './io.js';

export const PROBE_USAGE = `Usage: snat-monitor probe manifest --node NAME [--json]

Prints exactly what an investigation of node NAME runs, without calling Azure: the AKS run command's command line,
then each file of its context, the probe pod manifest (probe-pod.yaml, with probe.sh in it) and the wrapper that
creates the pod, prints its output and deletes it (run-probe.sh). Read them before you deploy.
  --node NAME   the Kubernetes node name (as kubectl get nodes shows it)
  --json        {"command": ..., "files": {"probe-pod.yaml": ..., "run-probe.sh": ...}} instead of text
The capture window is SNATMON_PROBE_WINDOW_SECONDS (default 20), as in the app. The pod name ends in 6 random
characters, new for each investigation. Exit codes: 0 printed, 1 a setting is invalid, 2 bad usage.`;

const PROBE_OPTIONS = {
    node: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
} as const;

export function runProbeCommand(argv: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = argv;
    if (sub !== 'manifest') {
        const got = sub === undefined ? 'no subcommand' : `"${sub}"`;
        throw new UsageError(`probe expects the subcommand manifest, got ${got}\n\n${PROBE_USAGE}`);
    }
    let values;
    try {
        values = parseArgs({ args: rest, strict: true, allowPositionals: false, options: PROBE_OPTIONS }).values;
    } catch (err) {
        throw new UsageError(`${(err as Error).message}\n\n${PROBE_USAGE}`);
    }
    if (values.help) throw new UsageError(PROBE_USAGE);
    if (values.node === undefined) throw new UsageError(`probe manifest needs --node NAME\n\n${PROBE_USAGE}`);
    let plan;
    try {
        plan = probeRunCommand(values.node, probeWindowSeconds(io.env));
    } catch (err) {
        // The node name is checked as the investigation checks it, before it goes near a manifest.
        if (err instanceof ProbeManifestError) throw new UsageError(`--node: ${err.message}`);
        throw err;
    }
    if (values.json) {
        io.stdout.write(`${JSON.stringify({ command: plan.command, files: plan.files }, null, 2)}\n`);
        return Promise.resolve(EXIT_OK);
    }
    const parts = [
        `# AKS run command for node ${plan.pod.pod.spec?.nodeName ?? values.node}`,
        `command: ${plan.command}`,
    ];
    for (const [name, content] of Object.entries(plan.files)) {
        parts.push('', `# file ${name} (${Buffer.byteLength(content)} bytes)`, content.replace(/\n$/, ''));
    }
    io.stdout.write(`${parts.join('\n')}\n`);
    return Promise.resolve(EXIT_OK);
}
