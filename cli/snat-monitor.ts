#!/usr/bin/env node
/**
 * snat-monitor: the same code the Functions app runs, from a laptop or a node shell.
 * Each subcommand lives in its own module; this file only dispatches, holds the conventions every command shares
 * (help, --version, --verbose, escaped output, one-line errors) and maps errors to exit codes. Run as a program, it
 * first makes sure a Node new enough for the commands runs it (./launcher.ts); keep its static imports to our own
 * dependency-free modules, so an old Node gets that far.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { redactSecrets } from '../shared/errors.js';
import { CliError, type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, processIo, UsageError } from './io.js';
import { launch } from './launcher.js';
import { escapingStream } from './terminalText.js';

const DEMO_USAGE = `Usage: snat-monitor demo [--out DIR] [--json]

Runs the whole monitor on this machine against a simulated Azure, with no Azure account: three AKS clusters (one
node exhausted by one workload, one node at risk, one NAT Gateway cluster), Azurite and a local webhook receiver.
One timer tick queues investigations, the queue worker probes the nodes, stores findings and sends notifications;
the demo prints what it found and writes the Teams card, the Slack payload and the HTML report.
  --out DIR   where to write the files (default ./snatmon-demo-output, or a temporary directory when the current
              directory is not writable)
  --json      print a machine-readable summary instead of text
The data is simulated. Exit codes: 0 the demo ran, 1 it failed, 2 bad usage.`;

const USAGE = `Usage: snat-monitor <command> [options]

Commands:
  scan         detect exhausted and at-risk nodes from the load balancer's SNAT metrics;
               --notify runs one monitor tick: investigate, record, notify
  investigate  run the node probe on one node and show which pods and destinations hold its SNAT ports;
               --notify also records the finding and notifies
  analyze      attribute SNAT use to pods and destinations from captured node tool output or a saved probe output
  probe        probe manifest --node NAME: print the probe pod manifest and run command wrapper, no Azure call
  demo         the whole monitor against a simulated Azure, no account needed (npm run demo)
  help         show this help, or help for a command: snat-monitor help scan

Options for every command:
  --help, -h   the command's options
  --verbose    with an error, also what Azure or the SDK said
  --version    the version of snat-monitor

Run "snat-monitor <command> --help" for a command's options.
Exit codes: 0 done, 1 failed (the message says what to do), 2 bad usage, 3 scan read only some clusters or
skipped some steps.`;

type Command = (argv: string[], io: CliIo) => Promise<number>;

interface LoadedCommand {
    run: Command;
    usage: string;
}

/**
 * Commands load on demand: `analyze` on a million-line capture should not pay for the Azure SDKs that `scan` and
 * `investigate` bring (about a second of start-up and 50 MB of memory).
 */
const COMMANDS: Record<string, (argv: readonly string[]) => Promise<LoadedCommand>> = {
    scan: async () => {
        const { runScan, SCAN_USAGE } = await import('./scanCommand.js');
        return { run: runScan, usage: SCAN_USAGE };
    },
    investigate: async () => {
        const { runInvestigate, INVESTIGATE_USAGE } = await import('./investigateCommand.js');
        return { run: (argv, io) => runInvestigate(argv, io), usage: INVESTIGATE_USAGE };
    },
    analyze: async () => {
        const { runAnalyze, ANALYZE_USAGE } = await import('./analyzeCommand.js');
        return { run: runAnalyze, usage: ANALYZE_USAGE };
    },
    probe: async () => {
        const { runProbeCommand, PROBE_USAGE } = await import('./probeCommand.js');
        return { run: runProbeCommand, usage: PROBE_USAGE };
    },
    // The demo brings the local Azure, which ships as test infrastructure.
    demo: () =>
        Promise.resolve({
            run: async (argv: string[], io: CliIo) => (await import('./demo.js')).runDemo(argv, io),
            usage: DEMO_USAGE,
        }),
};

const HELP = new Set(['--help', '-h']);

/** The global --verbose, wherever it stands before a `--`; the rest of the arguments go to the command. */
function takeVerbose(argv: readonly string[]): { verbose: boolean; args: string[] } {
    const end = argv.indexOf('--');
    const options = end === -1 ? argv : argv.slice(0, end);
    const args = options.filter((arg) => arg !== '--verbose');
    return { verbose: args.length < options.length, args: [...args, ...(end === -1 ? [] : argv.slice(end))] };
}

function version(): string {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        version: string;
    };
    return manifest.version;
}

export async function main(argv: string[], processStreams: CliIo): Promise<number> {
    // Everything a command prints can carry text workloads and tools control; none of it may act on a terminal.
    const io: CliIo = {
        ...processStreams,
        stdout: escapingStream(processStreams.stdout),
        stderr: escapingStream(processStreams.stderr),
    };
    const { verbose, args } = takeVerbose(argv);
    const [name, ...rest] = args;
    if (name === undefined) {
        io.stderr.write(`${USAGE}\n`);
        return EXIT_USAGE;
    }
    if (name === '--version') {
        io.stdout.write(`snat-monitor ${version()}\n`);
        return EXIT_OK;
    }
    if (name === 'help' || HELP.has(name)) {
        const topic = rest[0];
        if (topic === undefined) {
            io.stdout.write(`${USAGE}\n`);
            return EXIT_OK;
        }
        return showUsage(topic, io);
    }
    const load = COMMANDS[name];
    if (!load) return unknownCommand(name, io);
    const end = rest.indexOf('--');
    if ((end === -1 ? rest : rest.slice(0, end)).some((arg) => HELP.has(arg))) return showUsage(name, io);
    try {
        return await (await load(rest)).run(rest, io);
    } catch (err) {
        if (err instanceof UsageError) {
            io.stderr.write(`snat-monitor ${name}: ${err.message} (snat-monitor ${name} --help lists the options)\n`);
            return EXIT_USAGE;
        }
        io.stderr.write(`snat-monitor ${name}: ${describeError(err, verbose)}\n`);
        return EXIT_FAILURE;
    }
}

async function showUsage(name: string, io: CliIo): Promise<number> {
    const load = COMMANDS[name];
    if (!load) return unknownCommand(name, io);
    io.stdout.write(`${(await load([])).usage}\n`);
    return EXIT_OK;
}

function unknownCommand(name: string, io: CliIo): number {
    const known = Object.keys(COMMANDS).join(', ');
    io.stderr.write(`snat-monitor: unknown command "${name}"; the commands are ${known} (snat-monitor help)\n`);
    return EXIT_USAGE;
}

/**
 * One line for an error: ours (CliError) says what to do; anything else gives its first line. With --verbose, the
 * lines after it say what the SDK or the service answered, through every cause. Errors can quote a service's answer,
 * so a credential echoed in it stays off the terminal and CI logs.
 */
export function describeError(err: unknown, verbose: boolean): string {
    const message = err instanceof Error ? err.message : typeof err === 'string' ? err : 'unknown error';
    const [first = '', ...more] = redactSecrets(message).split('\n');
    const detail = verbose ? errorDetail(err instanceof CliError ? err.cause : err) : [];
    const hidden = more.length > 0 || (err instanceof Error && err.cause !== undefined);
    if (!verbose) return hidden ? `${first} (--verbose for details)` : first;
    return [first, ...detail.map((line) => `  ${line}`)].join('\n');
}

function errorDetail(err: unknown, depth = 0): string[] {
    if (err === undefined || depth > 5) return [];
    if (!(err instanceof Error)) return [redactSecrets(typeof err === 'string' ? err : JSON.stringify(err))];
    const errors = (err as { errors?: unknown }).errors;
    const inner: unknown[] = Array.isArray(errors) ? errors : [];
    const lines = redactSecrets(`${err.name}: ${err.message}`).split('\n');
    // An aggregate's message already lists its errors; they follow one by one instead.
    if (inner.length > 0) lines.splice(1);
    return [
        ...lines,
        ...inner.flatMap((e) => errorDetail(e, depth + 1).map((line) => `  ${line}`)),
        ...errorDetail(err.cause, depth + 1),
    ];
}

/** Whether this module is the program: `node dist/cli/snat-monitor.js`, or the npm bin link to it (npx). */
function isMain(): boolean {
    const script = process.argv[1];
    if (script === undefined) return false;
    try {
        return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
    } catch {
        return false;
    }
}

// Run only when executed, not when imported by tests.
if (isMain()) {
    await launch(fileURLToPath(import.meta.url), process.argv.slice(2), (args) => main(args, processIo()));
}
