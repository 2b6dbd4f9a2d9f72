#!/usr/bin/env node
/**
 * snat-monitor: the same code the Functions app runs, from a laptop or a node shell.
 * Each subcommand lives in its own module; this file only dispatches and maps errors to exit codes.
 */
import { ANALYZE_USAGE, runAnalyze } from './analyzeCommand.js';
import { type CliIo, EXIT_FAILURE, EXIT_USAGE, processIo, UsageError } from './io.js';

const USAGE = `Usage: snat-monitor <command> [options]

Commands:
  analyze      attribute SNAT use to pods and destinations from captured node tool output
  help         show this help, or help for a command: snat-monitor help analyze

Run "snat-monitor <command> --help" for a command's options.`;

type Command = (argv: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, { run: Command; usage: string }> = {
    analyze: { run: runAnalyze, usage: ANALYZE_USAGE },
};

export async function main(argv: string[], io: CliIo): Promise<number> {
    const [name, ...rest] = argv;
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
        const topic = rest[0] === undefined ? undefined : COMMANDS[rest[0]];
        io.stdout.write(`${topic ? topic.usage : USAGE}\n`);
        return name === undefined ? EXIT_USAGE : 0;
    }
    const command = COMMANDS[name];
    if (!command) {
        io.stderr.write(`snat-monitor: unknown command "${name}"\n\n${USAGE}\n`);
        return EXIT_USAGE;
    }
    try {
        return await command.run(rest, io);
    } catch (err) {
        if (err instanceof UsageError) {
            io.stderr.write(`snat-monitor ${name}: ${err.message}\n`);
            return EXIT_USAGE;
        }
        io.stderr.write(`snat-monitor ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
        return EXIT_FAILURE;
    }
}

// Run only when executed, not when imported by tests.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
    process.exitCode = await main(process.argv.slice(2), processIo());
}
