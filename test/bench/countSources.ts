/**
 * The least a process can do with a tcptracer capture: parse it and count events per (SADDR, NETNS).
 * The analyze benchmark runs it as its own process to show how much of the CLI's time is the parser
 * (process start and reading included) and how much the rest. Usage: node countSources.js FILE
 */
import { createReadStream } from 'node:fs';

import { parseTcptracerStream } from '../../shared/parse/tcptracer.js';

interface Counts {
    saddr: string;
    netns?: string;
    connects: number;
    accepts: number;
    closes: number;
}

const file = process.argv[2];
if (file === undefined) throw new Error('Usage: countSources FILE');
// Keyed by the strings the parser returns, one level per field: no key strings built per event.
const bySaddr = new Map<string, Map<string | undefined, Counts>>();
const summary = await parseTcptracerStream(createReadStream(file, { highWaterMark: 1 << 20 }), (event) => {
    let byNetns = bySaddr.get(event.saddr);
    if (byNetns === undefined) bySaddr.set(event.saddr, (byNetns = new Map<string | undefined, Counts>()));
    let counts = byNetns.get(event.netns);
    if (counts === undefined) {
        counts = { saddr: event.saddr, netns: event.netns, connects: 0, accepts: 0, closes: 0 };
        byNetns.set(event.netns, counts);
    }
    if (event.type === 'connect') counts.connects++;
    else if (event.type === 'accept') counts.accepts++;
    else if (event.type === 'close') counts.closes++;
});
const sources = [...bySaddr.values()].flatMap((byNetns) => [...byNetns.values()]);
process.stdout.write(`${JSON.stringify({ sources, skipped: summary.skipped.lines })}\n`);
