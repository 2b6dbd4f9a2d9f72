#!/usr/bin/env node
/**
 * snat-monitor: the same code the Functions app runs, from a laptop or a node shell.
 * Each subcommand lives in its own module; this file only dispatches and maps errors to exit codes.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { redactSecrets } from '../shared/errors.js';
import { type CliIo, EXIT_FAILURE, EXIT_USAGE, processIo, UsageError } from './io.js';

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
  analyze      attribute SNAT use to pods and destinations from captured node tool output
  demo         the whole monitor against a simulated Azure, no account needed (npm run demo)
  help         show this help, or help for a command: snat-monitor help scan

Run "snat-monitor <command> --help" for a command's options.`;

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
    // The demo brings the local Azure, which ships as test infrastructure.
    demo: () =>
        Promise.resolve({
            run: async (argv: string[], io: CliIo) => (await import('./demo.js')).runDemo(argv, io),
            usage: DEMO_USAGE,
        }),
};

export async function main(argv: string[], io: CliIo): Promise<number> {
    const [name, ...rest] = argv;
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
        const load = rest[0] === undefined ? undefined : COMMANDS[rest[0]];
        io.stdout.write(`${load ? (await load([])).usage : USAGE}\n`);
        return name === undefined ? EXIT_USAGE : 0;
    }
    const load = COMMANDS[name];
    if (!load) {
        io.stderr.write(`snat-monitor: unknown command "${name}"\n\n${USAGE}\n`);
        return EXIT_USAGE;
    }
    try {
        return await (await load(rest)).run(rest, io);
    } catch (err) {
        if (err instanceof UsageError) {
            io.stderr.write(`snat-monitor ${name}: ${err.message}\n`);
            return EXIT_USAGE;
        }
        // Errors can quote a service's answer; a credential echoed in it stays off the terminal and CI logs.
        io.stderr.write(`snat-monitor ${name}: ${redactSecrets(err instanceof Error ? err.message : String(err))}\n`);
        return EXIT_FAILURE;
    }
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
if (isMain()) process.exitCode = await main(process.argv.slice(2), processIo());
