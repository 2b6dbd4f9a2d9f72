import { access, constants, open, readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { cidrProblem } from '../shared/analyze/addressClass.js';
import { Analyzer } from '../shared/analyze/analyzer.js';
import { formatAnalysis } from '../shared/analyze/formatText.js';
import { INPUT_KINDS, type InputKind } from '../shared/analyze/inputKinds.js';
import { addInputSource, type ByteSource, streamSource } from '../shared/analyze/inputStream.js';
import type { Analysis } from '../shared/analyze/types.js';
import { type AnalyzeProbeOptions, analyzeRunCommandOutput, type ProbeAnalysis } from '../shared/probe/analyzeProbe.js';
import { type CliIo, EXIT_OK, UsageError } from './io.js';

export const ANALYZE_USAGE = `Usage: snat-monitor analyze [inputs] [--private-cidr CIDR]... [--allocated-ports N] [--top N] [--json]
       snat-monitor analyze --probe F [--pods F] [--private-cidr CIDR]... [--allocated-ports N] [--top N] [--json]

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
  --probe F         a saved node probe output (kubectl logs of the probe pod, probe.sh run as root on the node, or
                    the run command output with its pod list); only --pods may go with it, and is then used
                    instead of the pod list in the output. --json then prints the probe analysis: analysis,
                    collectors, sections, probe (docs/probe-format.md)
Every input option but --probe may be repeated; F may be - for standard input (once).
  --private-cidr    destinations that stay private (VNet, peered VNets, pod and service CIDRs); repeatable
  --allocated-ports the node's allocated SNAT ports, to show each culprit's share
  --top N           destinations to list per culprit (default 10)
  --json            machine-readable output (docs/analyze-json.md)
Exit codes: 0 done, 2 bad usage or unreadable input.`;

interface AnalyzeRequest {
    inputs: { kind: InputKind; file: string }[];
    /** A saved probe output: read whole, with the pods of `inputs` if any. */
    probe?: string;
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
    probe: { type: 'string' },
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
        throw new UsageError((err as Error).message);
    }

    const inputs: AnalyzeRequest['inputs'] = [];
    for (const kind of INPUT_KINDS) {
        for (const file of values[kind] ?? []) inputs.push({ kind, file });
    }
    if (values.probe !== undefined) {
        const other = inputs.find((input) => input.kind !== 'pods');
        if (other)
            throw new UsageError(`--probe reads a whole probe output: give only --pods with it, not --${other.kind}`);
        if (inputs.length > 1) throw new UsageError('--probe takes one --pods file');
    } else if (inputs.length === 0) {
        throw new UsageError('analyze needs at least one input file (--tcptracer, --ss, --conntrack, ...), or --probe');
    }
    if ([...inputs.map((input) => input.file), values.probe].filter((file) => file === '-').length > 1) {
        throw new UsageError('Only one input can be read from standard input (-)');
    }
    const privateCidrs = values['private-cidr'] ?? [];
    for (const cidr of privateCidrs) {
        const problem = cidrProblem(cidr);
        if (problem) throw new UsageError(`--private-cidr: ${problem}`);
    }
    const request: AnalyzeRequest = {
        inputs,
        ...(values.probe === undefined ? {} : { probe: values.probe }),
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
async function checkReadable(inputs: readonly { kind: string; file: string }[], cwd: string): Promise<void> {
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
        if (file === '-' && io.stdin.isTTY === true) {
            // On a terminal, a read of standard input looks like a hang unless it says what it waits for.
            io.stderr.write(
                `snat-monitor analyze: reading --${kind} from standard input; paste it, then press Ctrl-D\n`,
            );
        }
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

/** Reads a whole file, or standard input for `-`: a probe output is at most about 512 kB. */
async function readText(file: string, io: CliIo): Promise<string> {
    if (file !== '-') return readFile(resolve(io.cwd, file), 'utf8');
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin as AsyncIterable<Buffer | string>) {
        chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
}

/** `--probe`: the reader the investigation uses (analyzeRunCommandOutput), on a saved output. */
async function analyzeProbeFile(request: AnalyzeRequest & { probe: string }, io: CliIo): Promise<ProbeAnalysis> {
    const pods = request.inputs[0];
    await checkReadable([...(pods ? [pods] : []), { kind: 'probe', file: request.probe }], io.cwd);
    const read = async (option: string, file: string) => {
        try {
            return await readText(file, io);
        } catch (err) {
            const reason = err instanceof Error && 'code' in err ? String(err.code) : (err as Error).message;
            throw new UsageError(`--${option} ${file}: cannot read the input (${reason})`, { cause: err });
        }
    };
    const text = await read('probe', request.probe);
    const options: AnalyzeProbeOptions = { privateCidrs: request.privateCidrs, topDestinations: request.top };
    if (pods) options.pods = await read('pods', pods.file);
    if (request.allocatedPorts !== undefined) options.allocatedPorts = request.allocatedPorts;
    const result = analyzeRunCommandOutput(text, options);
    if (result.probe.error !== undefined) {
        throw new UsageError(`--probe ${request.probe}: no probe output to analyze (${result.probe.error})`);
    }
    return result;
}

function formatCollectors(result: ProbeAnalysis): string {
    const lines = ['', 'Probe collectors'];
    for (const c of result.collectors) lines.push(`  ${c.name}: ${c.status}${c.reason ? ` (${c.reason})` : ''}`);
    if (!result.probe.complete) lines.push('  the probe output was cut short: sections after the cut are missing');
    return `${lines.join('\n')}\n`;
}

export async function runAnalyze(argv: string[], io: CliIo): Promise<number> {
    if (argv.includes('--help') || argv.includes('-h')) {
        io.stdout.write(`${ANALYZE_USAGE}\n`);
        return EXIT_OK;
    }
    const request = parseAnalyzeArgs(argv);
    if (request.probe !== undefined) {
        const result = await analyzeProbeFile({ ...request, probe: request.probe }, io);
        io.stdout.write(
            request.json
                ? `${JSON.stringify(result, null, 2)}\n`
                : `${formatAnalysis(result.analysis)}${formatCollectors(result)}`,
        );
        return EXIT_OK;
    }
    const analysis = await analyzeFiles(request, io);
    io.stdout.write(request.json ? `${JSON.stringify(analysis, null, 2)}\n` : formatAnalysis(analysis));
    return EXIT_OK;
}
