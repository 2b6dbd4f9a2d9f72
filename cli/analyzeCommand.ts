import { access, constants, open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { cidrProblem } from '../shared/analyze/addressClass.js';
import { Analyzer } from '../shared/analyze/analyzer.js';
import { formatAnalysis } from '../shared/analyze/formatText.js';
import { INPUT_KINDS, type InputKind } from '../shared/analyze/inputKinds.js';
import { addInputSource, type ByteSource, streamSource } from '../shared/analyze/inputStream.js';
import type { Analysis } from '../shared/analyze/types.js';
import { type CliIo, EXIT_OK, UsageError } from './io.js';

export const ANALYZE_USAGE = `Usage: snat-monitor analyze [inputs] [--private-cidr CIDR]... [--allocated-ports N] [--top N] [--json]

Joins node tool output into the pods and destinations that use SNAT ports. Give any subset of:
  --tcptracer F     python3 /usr/share/bcc/tools/tcptracer -t4v (any variant)
  --ig F            ig run trace_tcp -o json (Inspektor Gadget)
  --lsns F          lsns -t net (table or -J)
  --pstree F        pstree -aps PID (one or more trees)
  --crictl F        crictl ps -a / crictl pods (table or -o json)
  --netstat F       netstat -ptn / -tan
  --ss F            ss -tan / ss -tnp
  --conntrack F     conntrack -L or /proc/net/nf_conntrack
  --cgroup F        /proc/PID/cgroup (several with \`head /proc/*/cgroup\` headers)
  --pods F          kubectl get pods -A -o json
Every input option may be repeated; F may be - for standard input (once).
  --private-cidr    destinations that stay private (VNet, peered VNets, pod and service CIDRs); repeatable
  --allocated-ports the node's allocated SNAT ports, to show each culprit's share
  --top N           destinations to list per culprit (default 10)
  --json            machine-readable output (docs/analyze-json.md)
Exit codes: 0 done, 2 bad usage or unreadable input.`;

interface AnalyzeRequest {
    inputs: { kind: InputKind; file: string }[];
    privateCidrs: string[];
    allocatedPorts?: number;
    top: number;
    json: boolean;
}

const ANALYZE_OPTIONS = {
    tcptracer: { type: 'string', multiple: true },
    ig: { type: 'string', multiple: true },
    lsns: { type: 'string', multiple: true },
    pstree: { type: 'string', multiple: true },
    crictl: { type: 'string', multiple: true },
    netstat: { type: 'string', multiple: true },
    ss: { type: 'string', multiple: true },
    conntrack: { type: 'string', multiple: true },
    cgroup: { type: 'string', multiple: true },
    pods: { type: 'string', multiple: true },
    'private-cidr': { type: 'string', multiple: true },
    'allocated-ports': { type: 'string' },
    top: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
} as const;

export function parseAnalyzeArgs(argv: string[]): AnalyzeRequest {
    let values;
    try {
        values = parseArgs({ args: argv, strict: true, allowPositionals: false, options: ANALYZE_OPTIONS }).values;
    } catch (err) {
        throw new UsageError(`${(err as Error).message}\n\n${ANALYZE_USAGE}`);
    }
    if (values.help) throw new UsageError(ANALYZE_USAGE);

    const inputs: AnalyzeRequest['inputs'] = [];
    for (const kind of INPUT_KINDS) {
        for (const file of values[kind] ?? []) inputs.push({ kind, file });
    }
    if (inputs.length === 0) {
        throw new UsageError(
            `analyze needs at least one input file (--tcptracer, --ss, --conntrack, ...)\n\n${ANALYZE_USAGE}`,
        );
    }
    if (inputs.filter((input) => input.file === '-').length > 1) {
        throw new UsageError('Only one input can be read from standard input (-)');
    }
    const privateCidrs = values['private-cidr'] ?? [];
    for (const cidr of privateCidrs) {
        const problem = cidrProblem(cidr);
        if (problem) throw new UsageError(`--private-cidr: ${problem}`);
    }
    const request: AnalyzeRequest = {
        inputs,
        privateCidrs,
        top: positiveInteger('--top', values.top) ?? 10,
        json: values.json === true,
    };
    const allocated = positiveInteger('--allocated-ports', values['allocated-ports']);
    if (allocated !== undefined) {
        if (allocated > 64_000) {
            throw new UsageError(`--allocated-ports must be at most 64000 (ports per node per IP), got ${allocated}`);
        }
        request.allocatedPorts = allocated;
    }
    return request;
}

function positiveInteger(option: string, text: string | undefined): number | undefined {
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text) || Number(text) < 1) {
        throw new UsageError(`${option} expects a positive whole number, got "${text}"`);
    }
    return Number(text);
}

/** Checks every named file before reading any, so a typo in the last option fails fast and loses nothing. */
async function checkReadable(inputs: AnalyzeRequest['inputs'], cwd: string): Promise<void> {
    for (const { kind, file } of inputs) {
        if (file === '-') continue;
        const path = resolve(cwd, file);
        try {
            await access(path, constants.R_OK);
            if ((await stat(path)).isDirectory()) throw new Error('is a directory');
        } catch (err) {
            const reason = err instanceof Error && 'code' in err ? String(err.code) : (err as Error).message;
            throw new UsageError(`--${kind} ${file}: cannot read the file (${reason}); expected a readable file or -`);
        }
    }
}

/** Reads every input named on the command line into one analysis. */
export async function analyzeFiles(request: AnalyzeRequest, io: CliIo): Promise<Analysis> {
    await checkReadable(request.inputs, io.cwd);
    const analyzer = new Analyzer({
        privateCidrs: request.privateCidrs,
        allocatedPorts: request.allocatedPorts,
        topDestinations: request.top,
    });
    for (const { kind, file } of request.inputs) {
        try {
            if (file === '-') {
                await addInputSource(analyzer, kind, streamSource(io.stdin as AsyncIterable<Uint8Array>), file);
                continue;
            }
            // Read until the end, not up to a size: pipes, FIFOs and /dev/stdin have none.
            const handle = await open(resolve(io.cwd, file), 'r');
            try {
                const source: ByteSource = {
                    read: async (into) => (await handle.read(into, 0, into.length, null)).bytesRead,
                };
                await addInputSource(analyzer, kind, source, file);
            } finally {
                await handle.close();
            }
        } catch (err) {
            const reason = err instanceof Error && 'code' in err ? String(err.code) : (err as Error).message;
            throw new UsageError(`--${kind} ${file}: cannot read the input (${reason})`, { cause: err });
        }
    }
    return analyzer.result();
}

export async function runAnalyze(argv: string[], io: CliIo): Promise<number> {
    const request = parseAnalyzeArgs(argv);
    const analysis = await analyzeFiles(request, io);
    io.stdout.write(request.json ? `${JSON.stringify(analysis, null, 2)}\n` : formatAnalysis(analysis));
    return EXIT_OK;
}
