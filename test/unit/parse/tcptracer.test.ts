import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { splitLines } from '../../../shared/parse/lines.js';
import type { TcptracerEvent, TcptracerSummary } from '../../../shared/parse/records.js';
import { parseTcptracer, parseTcptracerStream, TcptracerParser } from '../../../shared/parse/tcptracer.js';
import { readFixture } from '../../helpers/paths.js';
import { platformFact } from '../../helpers/platformFacts.js';

/** tcptracer.py's command-line switches that change what it prints. */
interface Flags {
    timestamp: boolean; // -t
    verbose: boolean; // -v
    netnsFilter: boolean; // -N NETNS: drops the NETNS column
}

interface Row {
    tsNs: number;
    type: 'C' | 'A' | 'X' | 'U';
    pid: number;
    comm: string;
    ip: 4 | 6;
    saddr: string;
    daddr: string;
    sport: number;
    dport: number;
    netns: number;
}

const WORDS = { C: 'connect', A: 'accept', X: 'close', U: 'unknown' } as const;

/** Python's `%-Ns` / `%-Nd`. */
function left(value: string | number, width: number): string {
    return String(value).padEnd(width);
}

/** The header exactly as tools/tcptracer.py (v0.29.0 and master) prints it. */
function header(flags: Flags): string {
    if (flags.verbose) {
        const time = flags.timestamp ? left('TIME(ns)', 14) : '';
        const cols =
            `${left('TYPE', 12)} ${left('PID', 6)} ${left('COMM', 16)} ${left('IP', 2)} ${left('SADDR', 16)} ` +
            `${left('DADDR', 16)} ${left('SPORT', 6)} ${left('DPORT', 7)}`;
        return time + cols + (flags.netnsFilter ? '' : left('NETNS', 8));
    }
    const time = flags.timestamp ? left('TIME(s)', 9) : '';
    return (
        time +
        `${left('T', 2)} ${left('PID', 6)} ${left('COMM', 16)} ${left('IP', 2)} ${left('SADDR', 16)} ` +
        `${left('DADDR', 16)} ${left('SPORT', 6)} ${left('DPORT', 6)}`
    );
}

/**
 * One event line exactly as print_ipv4_event / print_ipv6_event print it. `brackets` flips the one thing they
 * differ in, for forms the parser also accepts (bare IPv6, bracketed IPv4).
 */
function row(flags: Flags, r: Row, brackets = r.ip === 6): string {
    let line = '';
    if (flags.timestamp) line += flags.verbose ? left(r.tsNs, 14) : left((r.tsNs / 1e9).toFixed(3), 9);
    line += flags.verbose ? `${left(WORDS[r.type], 12)} ` : `${left(r.type, 2)} `;
    const saddr = brackets ? `[${r.saddr}]` : r.saddr;
    const daddr = brackets ? `[${r.daddr}]` : r.daddr;
    line +=
        `${left(r.pid, 6)} ${left(r.comm, 16)} ${left(r.ip, 2)} ${left(saddr, 16)} ${left(daddr, 16)} ` +
        `${left(r.sport, 6)} ${left(r.dport, 6)}`;
    if (flags.verbose && !flags.netnsFilter) line += ` ${left(r.netns, 8)}`;
    return line;
}

function expected(flags: Flags, r: Row): TcptracerEvent {
    let time: string | undefined;
    if (flags.timestamp) time = flags.verbose ? String(r.tsNs) : (r.tsNs / 1e9).toFixed(3);
    return {
        type: WORDS[r.type],
        time,
        pid: r.pid,
        comm: r.comm,
        ipVersion: r.ip,
        saddr: r.saddr,
        daddr: r.daddr,
        sport: r.sport,
        dport: r.dport,
        netns: flags.verbose && !flags.netnsFilter ? String(r.netns) : undefined,
    };
}

const BANNER = 'Tracing TCP established connections. Ctrl-C to end.';

const ROWS: Row[] = [
    {
        tsNs: 0,
        type: 'C',
        pid: 18627,
        comm: 'curl',
        ip: 4,
        saddr: '10.244.0.28',
        daddr: '20.60.1.5',
        sport: 53746,
        dport: 443,
        netns: 4026532785,
    },
    {
        tsNs: 3_546_000_001,
        type: 'C',
        pid: 748,
        comm: 'Web Content',
        ip: 4,
        saddr: '10.244.0.28',
        daddr: '52.239.1.9',
        sport: 42592,
        dport: 443,
        netns: 4026532785,
    },
    {
        tsNs: 4_294_000_000,
        type: 'X',
        pid: 31002,
        comm: 'java worker',
        ip: 6,
        saddr: '2001:db8::10',
        daddr: '2603:1030:20c::1',
        sport: 42590,
        dport: 5432,
        netns: 4026532186,
    },
    {
        tsNs: 5_000_000_000,
        type: 'A',
        pid: 28817,
        comm: 'C2 CompilerThre',
        ip: 6,
        saddr: '::1',
        daddr: '::1',
        sport: 80,
        dport: 55758,
        netns: 4026531833,
    },
    {
        tsNs: 6_100_000_000,
        type: 'U',
        pid: 4194304,
        comm: 'nc',
        ip: 4,
        saddr: '192.168.1.2',
        daddr: '192.168.1.1',
        sport: 59306,
        dport: 23,
        netns: 4026531992,
    },
    {
        tsNs: 7_000_000_000,
        type: 'X',
        pid: 1,
        comm: 'a  b   c',
        ip: 4,
        saddr: '10.0.0.1',
        daddr: '10.0.0.2',
        sport: 1,
        dport: 65535,
        netns: 4026532200,
    },
];

const ALL_FLAGS: Flags[] = [];
for (const timestamp of [false, true]) {
    for (const verbose of [false, true]) {
        for (const netnsFilter of [false, true]) ALL_FLAGS.push({ timestamp, verbose, netnsFilter });
    }
}

function capture(flags: Flags, rows: readonly Row[], eol = '\n'): string {
    return [BANNER, header(flags), ...rows.map((r) => row(flags, r))].join(eol) + eol;
}

function describeFlags(flags: Flags): string {
    const parts = [flags.timestamp ? '-t' : '', flags.verbose ? '-v' : '', flags.netnsFilter ? '-N 4026532785' : ''];
    return `tcptracer ${parts.filter(Boolean).join(' ')}`.trim();
}

/**
 * Lines the parser must account for (as an event or a skip): not blank, not the banner, a header or a lost-samples
 * message. A line ending in a glued-on `Possibly lost N samples` (stderr landing inside a stdout line) continues on
 * the next line, so the two count once.
 */
function dataLineCount(text: string): number {
    const lines = splitLines(text);
    if (lines[0]?.startsWith('\uFEFF')) lines[0] = lines[0].slice(1);
    let count = 0;
    let carry = '';
    for (let line of lines) {
        line = carry + line;
        carry = '';
        const trimmed = line.replace(/^[\t-\r ]+|[\t-\r ]+$/g, '');
        if (trimmed === '') continue;
        if (trimmed.startsWith('Tracing TCP established connections')) continue;
        if (/^Possibly lost \d{1,15} samples$/.test(trimmed)) continue;
        const names = trimmed.split(/[\t-\r ]+/);
        const isHeader =
            ['T', 'TIME(s)', 'TIME(ns)', 'TYPE'].includes(names[0] ?? '') &&
            names.includes('SADDR') &&
            names.includes('DADDR');
        if (isHeader) continue;
        const glued = trimmed.indexOf('Possibly lost ', 1);
        if (glued > 0 && /^Possibly lost \d{1,15} samples$/.test(trimmed.slice(glued))) {
            carry = trimmed.slice(0, glued);
            continue;
        }
        count++;
    }
    return carry === '' ? count : count + 1;
}

function accounted(summary: TcptracerSummary): number {
    return summary.events + summary.skipped.lines;
}

async function parseChunks(chunks: readonly (string | Uint8Array)[]) {
    const events: TcptracerEvent[] = [];
    const summary = await parseTcptracerStream(Readable.from(chunks), (e) => events.push(e));
    return { events, summary };
}

/** Splits bytes at the given offsets (sorted, deduplicated), as a file stream with odd chunk sizes would. */
function splitAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
    const cuts = [...new Set(offsets.map((o) => Math.min(o, bytes.length)))].sort((a, b) => a - b);
    const chunks: Uint8Array[] = [];
    let from = 0;
    for (const cut of cuts) {
        chunks.push(bytes.subarray(from, cut));
        from = cut;
    }
    chunks.push(bytes.subarray(from));
    return chunks;
}

describe('parseTcptracer on documented output', () => {
    it('reads the default output of bcc tools/tcptracer_example.txt, IPv6 in brackets included', () => {
        const { events, summary } = parseTcptracer(readFixture('tcptracer', 'bcc-example-default.txt'));
        assert.equal(events.length, 8);
        assert.deepEqual(events[0], {
            type: 'connect',
            time: undefined,
            pid: 28943,
            comm: 'telnet',
            ipVersion: 4,
            saddr: '192.168.1.2',
            daddr: '192.168.1.1',
            sport: 59306,
            dport: 23,
            netns: undefined,
        });
        assert.deepEqual(events[3], {
            type: 'accept',
            time: undefined,
            pid: 28817,
            comm: 'nc',
            ipVersion: 6,
            saddr: '::1',
            daddr: '::1',
            sport: 80,
            dport: 55758,
            netns: undefined,
        });
        assert.deepEqual(
            events.map((e) => e.type),
            ['connect', 'connect', 'close', 'accept', 'close', 'close', 'accept', 'close'],
        );
        assert.deepEqual(summary.variant, { timestamp: 'none', verbose: false, netns: false });
        assert.equal(summary.skipped.lines, 0);
        assert.equal(summary.truncatedLastLine, false);
    });

    it('reads the -t example, whose older PID column was right-aligned', () => {
        const { events, summary } = parseTcptracer(readFixture('tcptracer', 'bcc-example-timestamp.txt'));
        assert.deepEqual(
            events.map((e) => [e.time, e.type, e.pid, e.comm, e.saddr]),
            [
                ['0.000', 'connect', 31002, 'telnet', '192.168.1.2'],
                ['3.546', 'connect', 748, 'curl', '::1'],
                ['4.294', 'close', 31002, 'telnet', '192.168.1.2'],
            ],
        );
        assert.deepEqual(summary.variant, { timestamp: 'seconds', verbose: false, netns: false });
        assert.equal(summary.skipped.lines, 0);
    });

    it("reads the runbook's tcptracer -t4v example, keeping its masked times verbatim", () => {
        const { events, summary } = parseTcptracer(readFixture('tcptracer', 'runbook-t4v.txt'));
        assert.equal(events.length, 8);
        assert.deepEqual(
            events.map((e) => e.time),
            ['0', '3xxx9', '1xxxx4', '2xxxx9', '4xxxx5', '4xxxx8', '7xxxx3', '9xxxx7'],
        );
        assert.deepEqual(events[7], {
            type: 'close',
            time: '9xxxx7',
            pid: 18633,
            comm: 'curl',
            ipVersion: 4,
            saddr: '1.2.3.4',
            daddr: '13.14.15.16',
            sport: 35690,
            dport: 80,
            netns: '4026532785',
        });
        assert.equal(events.filter((e) => e.type === 'connect').length, 4);
        assert.ok(events.every((e) => e.saddr === '1.2.3.4' && e.netns === '4026532785'));
        assert.deepEqual(summary.variant, { timestamp: 'nanoseconds', verbose: true, netns: true });
        assert.equal(summary.skipped.lines, 0);
    });
});

describe('every tcptracer.py output variant', () => {
    for (const flags of ALL_FLAGS) {
        it(`${describeFlags(flags)}: IPv4, IPv6 and COMM with spaces, with and without the header`, () => {
            const text = capture(flags, ROWS);
            const want = ROWS.map((r) => expected(flags, r));
            const withHeader = parseTcptracer(text);
            assert.deepEqual(withHeader.events, want);
            assert.equal(withHeader.summary.skipped.lines, 0, JSON.stringify(withHeader.summary.skipped));
            const netns = flags.verbose && !flags.netnsFilter;
            const timestamp = !flags.timestamp ? 'none' : flags.verbose ? 'nanoseconds' : 'seconds';
            assert.deepEqual(withHeader.summary.variant, { timestamp, verbose: flags.verbose, netns });

            // Without banner and header the layout is inferred line by line.
            const bare = parseTcptracer(text.split('\n').slice(2).join('\n'));
            assert.deepEqual(bare.events, want);
            assert.deepEqual(bare.summary.variant, { timestamp, verbose: flags.verbose, netns });
        });
    }

    it('reads a TIME glued to the type (10000 s and more with -t, 15 digits of ns with -t -v)', () => {
        const late: Row = { ...ROWS[0]!, tsNs: 12_345_678_000_000 };
        const seconds = parseTcptracer(capture({ timestamp: true, verbose: false, netnsFilter: false }, [late]));
        assert.ok(row({ timestamp: true, verbose: false, netnsFilter: false }, late).startsWith('12345.678C '));
        assert.deepEqual(seconds.events, [expected({ timestamp: true, verbose: false, netnsFilter: false }, late)]);
        const verboseFlags = { timestamp: true, verbose: true, netnsFilter: false };
        const later: Row = { ...ROWS[1]!, tsNs: 123_456_789_012_345 };
        assert.ok(row(verboseFlags, later).startsWith('123456789012345connect '));
        assert.deepEqual(parseTcptracer(capture(verboseFlags, [later])).events, [expected(verboseFlags, later)]);
    });

    it('keeps negative times, which appear when per-CPU buffers deliver events out of order', () => {
        const { events } = parseTcptracer(
            [
                header({ timestamp: true, verbose: true, netnsFilter: false }),
                row({ timestamp: true, verbose: true, netnsFilter: false }, ROWS[0]!).replace(/^0 /, '-123'),
            ].join('\n'),
        );
        assert.equal(events[0]?.time, '-123');
    });

    it('keeps reading when IPv4 and IPv6 lines alternate (their columns differ)', () => {
        const flags = { timestamp: true, verbose: true, netnsFilter: false };
        const rows = [ROWS[0]!, ROWS[2]!, ROWS[1]!, ROWS[3]!, ROWS[0]!, ROWS[2]!];
        assert.deepEqual(
            parseTcptracer(capture(flags, rows)).events,
            rows.map((r) => expected(flags, r)),
        );
    });
});

describe('masked values', () => {
    it('keeps masked TIME and NETNS verbatim and reads masked PID and ports as absent', () => {
        const text = [
            header({ timestamp: true, verbose: true, netnsFilter: false }),
            '3xxx9         connect      xxxxx3 curl             4  10.x.x.x         20.x.x.x         xxxx   443    40265xxx85',
        ].join('\n');
        const { events, summary } = parseTcptracer(text);
        assert.deepEqual(events, [
            {
                type: 'connect',
                time: '3xxx9',
                pid: undefined,
                comm: 'curl',
                ipVersion: 4,
                saddr: '10.x.x.x',
                daddr: '20.x.x.x',
                sport: undefined,
                dport: 443,
                netns: '40265xxx85',
            },
        ]);
        assert.equal(summary.skipped.lines, 0);
    });
});

describe('canonical addresses', () => {
    it('writes IPv4-mapped IPv6 as IPv4 and IPv6 in RFC 5952 form, with or without brackets', () => {
        const text = [
            'C  1      curl             6  [::ffff:10.0.0.1] [2001:DB8:0:0:0:0:0:1] 1      2',
            'C  1      curl             6  fe80::1          2001:db8:0:0:1:0:0:1 1      2',
            'C  1      curl             6  [FE80::XXXX]     [::]             1      2',
            // Brackets around IPv4 too, twice: the second line is read through the learned columns.
            'C  1      curl             4  [10.0.0.1]       [10.0.0.2]       1      2',
            'C  1      curl             4  [10.0.0.1]       [10.0.0.2]       1      2',
        ].join('\n');
        const { events } = parseTcptracer(text);
        assert.deepEqual(
            events.map((e) => [e.saddr, e.daddr]),
            [
                ['10.0.0.1', '2001:db8::1'],
                ['fe80::1', '2001:db8::1:0:0:1'],
                ['fe80::xxxx', '::'],
                ['10.0.0.1', '10.0.0.2'],
                ['10.0.0.1', '10.0.0.2'],
            ],
        );
    });

    it('reads the address forms tcptracer prints with inet_ntop (platform fact bcc.tcptracer.addresses)', () => {
        const [v4 = '', v6 = '', mapped = ''] = platformFact('bcc.tcptracer.addresses').values;
        const { events, summary } = parseTcptracer(
            `C  1      curl             6  ${v6} ${mapped} 1      2\n` +
                `C  1      curl             4  ${v4} ${v4} 1      2\n`,
        );
        assert.equal(summary.skipped.lines, 0);
        assert.deepEqual(
            events.map((e) => [e.saddr, e.daddr]),
            [
                ['2001:db8::1', '10.0.0.1'],
                ['10.0.0.1', '10.0.0.1'],
            ],
        );
    });

    it('skips addresses inet_ntop never prints (leading zeros, octets over 255, bad IPv6), keeps masked ones', () => {
        const text = [
            'C  1      curl             4  10.0.0.1         052.1.2.3        1      2',
            'C  1      curl             4  010.0.0.1        52.1.2.3         1      2',
            'C  1      curl             4  10.0.0.1         300.1.2.3        1      2',
            'C  1      curl             6  [fd00:::12]      [2603:1030::5]   1      2',
            'C  1      curl             4  10.x.x.x         52.1.2.3         1      2',
            'C  1      curl             6  [FD00::X]        [2603:1030:0::5] 1      2',
        ].join('\n');
        const { events, summary } = parseTcptracer(text);
        assert.deepEqual(
            events.map((e) => [e.saddr, e.daddr]),
            [
                ['10.x.x.x', '52.1.2.3'],
                ['fd00::x', '2603:1030::5'],
            ],
        );
        assert.deepEqual(
            summary.skipped.examples.map((e) => [e.line, e.reason]),
            [1, 2, 3, 4].map((line) => [line, 'SADDR or DADDR is not an IP address']),
        );
    });
});

describe('captures cut short', () => {
    const text = readFixture('tcptracer', 'runbook-t4v.txt');
    const lastLineStart = text.trimEnd().lastIndexOf('\n') + 1;

    it('calls a last line without newline that does not parse truncated, wherever it was cut', () => {
        const complete = text.trimEnd().length;
        for (let cut = lastLineStart + 1; cut < complete; cut++) {
            const { events, summary } = parseTcptracer(text.slice(0, cut));
            assert.equal(events.length, 7, `cut at ${cut}`);
            assert.equal(summary.truncatedLastLine, true, `cut at ${cut}: ${text.slice(lastLineStart, cut)}`);
            assert.equal(summary.skipped.lines, 1);
            assert.match(summary.skipped.examples[0]?.reason ?? '', /^truncated last line/);
            assert.equal(summary.skipped.examples[0]?.line, 10);
        }
        const whole = parseTcptracer(text.slice(0, complete));
        assert.equal(whole.events.length, 8);
        assert.equal(whole.summary.truncatedLastLine, false);
    });

    it('does not call a bad last line truncated when the input ended with a newline', () => {
        const { summary } = parseTcptracer(`${text}0 connect 1 curl 4 1.2.3.4\n`);
        assert.equal(summary.truncatedLastLine, false);
        assert.equal(summary.skipped.lines, 1);
        assert.equal(summary.skipped.examples[0]?.reason, 'no IP version column (4 or 6) where one was expected');
    });

    it('reports the same through a stream, and through pushLine with end(true)', async () => {
        const cut = text.slice(0, text.length - 4);
        const streamed = await parseChunks([Buffer.from(cut)]);
        assert.equal(streamed.summary.truncatedLastLine, true);
        assert.equal(streamed.events.length, 7);

        const events: TcptracerEvent[] = [];
        const parser = new TcptracerParser((e) => events.push(e));
        for (const line of splitLines(cut)) parser.pushLine(line);
        const summary = parser.end(true);
        assert.equal(summary.truncatedLastLine, true);
        assert.equal(events.length, 7);
    });
});

describe('CRLF, lost samples, noise', () => {
    it('reads CRLF line ends like LF ones', async () => {
        const lf = readFixture('tcptracer', 'runbook-t4v.txt');
        const crlf = lf.replace(/\n/g, '\r\n');
        assert.deepEqual(parseTcptracer(crlf), parseTcptracer(lf));
        const streamed = await parseChunks(splitAt(Buffer.from(crlf), [101, 202, 203, 500]));
        assert.deepEqual(streamed.events, parseTcptracer(lf).events);
    });

    it('adds up "Possibly lost N samples" messages, also one that landed inside a line', () => {
        const flags = { timestamp: true, verbose: true, netnsFilter: false };
        const line = row(flags, ROWS[1]!);
        const text = [
            BANNER,
            header(flags),
            row(flags, ROWS[0]!),
            'Possibly lost 3 samples',
            // stderr is unbuffered: with 2>&1 the message can cut a stdout line in two.
            `${line.slice(0, 40)}Possibly lost 12 samples`,
            line.slice(40),
            row(flags, ROWS[2]!),
        ].join('\n');
        const { events, summary } = parseTcptracer(text);
        assert.equal(summary.lostSamples, 15);
        assert.deepEqual(events, [expected(flags, ROWS[0]!), expected(flags, ROWS[1]!), expected(flags, ROWS[2]!)]);
        assert.equal(summary.skipped.lines, 0);
    });

    it('skips lines it cannot read, with the reason and line number, and never throws', () => {
        const flags = { timestamp: false, verbose: false, netnsFilter: false };
        const text = [
            header(flags),
            'Traceback (most recent call last):',
            'C  12a    curl             4  1.2.3.4          5.6.7.8          1      2',
            'C  12     curl             5  1.2.3.4          5.6.7.8          1      2',
            'C  12     curl             4  1.2.3            5.6.7.8          1      2',
            'C  12     curl             4  1.2.3.4          5.6.7.8          1      70000',
            'Q  12     curl             4  1.2.3.4          5.6.7.8          1      2',
            row(flags, ROWS[0]!),
        ].join('\n');
        const { events, summary } = parseTcptracer(text);
        assert.equal(events.length, 1);
        assert.equal(summary.skipped.lines, 6);
        assert.deepEqual(
            summary.skipped.examples.map((e) => [e.line, e.reason]),
            [
                [2, 'too few fields for a tcptracer event'],
                [3, 'PID is not a number'],
                [4, 'no IP version column (4 or 6) where one was expected'],
                [5, 'SADDR or DADDR is not an IP address'],
                [6, 'SPORT or DPORT is not a port number'],
            ],
        );
    });

    it('holds lines to the layout their header announced', () => {
        const verbose = { timestamp: false, verbose: true, netnsFilter: false };
        const noNetns = row({ ...verbose, netnsFilter: true }, ROWS[0]!);
        const timed = row({ timestamp: true, verbose: true, netnsFilter: false }, ROWS[0]!);
        const { events, summary } = parseTcptracer(
            [header(verbose), noNetns, timed, row(verbose, ROWS[0]!)].join('\n'),
        );
        assert.equal(events.length, 1);
        assert.deepEqual(
            summary.skipped.examples.map((e) => e.reason),
            ['NETNS column missing although the header has one', 'TIME column present although the header has none'],
        );
    });

    it('rejects a NETNS that cannot be a namespace inode (inodes are ten digits, or 0)', () => {
        const flags = { timestamp: false, verbose: true, netnsFilter: false };
        const good = row(flags, ROWS[0]!);
        const { events, summary } = parseTcptracer(
            [good.replace('4026532785', '402653'), good.replace('4026532785', '0')].join('\n'),
        );
        assert.deepEqual(
            events.map((e) => e.netns),
            ['0'],
        );
        assert.equal(summary.skipped.examples[0]?.reason, 'NETNS is not a namespace inode');
    });

    it('reads non-ASCII COMM values and a byte-order mark', async () => {
        const flags = { timestamp: true, verbose: true, netnsFilter: false };
        const rows = [
            { ...ROWS[0]!, comm: 'café worker' },
            { ...ROWS[1]!, comm: '日本語' },
        ];
        const text = `\uFEFF${capture(flags, rows)}`;
        const want = rows.map((r) => expected(flags, r));
        assert.deepEqual(parseTcptracer(text).events, want);
        const bytes = Buffer.from(text);
        // Cut inside the multi-byte characters too.
        for (const cut of [1, 2, 60, bytes.indexOf('日') + 1, bytes.indexOf('é') + 1]) {
            const streamed = await parseChunks(splitAt(bytes, [cut]));
            assert.deepEqual(streamed.events, want, `cut at ${cut}`);
            assert.equal(streamed.summary.skipped.lines, 0);
        }
    });

    it('reads string chunks as well as byte chunks', async () => {
        const text = readFixture('tcptracer', 'runbook-t4v.txt');
        const streamed = await parseChunks([text.slice(0, 150), text.slice(150, 151), text.slice(151)]);
        assert.deepEqual(streamed, parseTcptracer(text));
    });
});

const ALPHABET = [
    ' ',
    '  ',
    '\t',
    '\n',
    '\r\n',
    'C',
    'X',
    'connect',
    'close',
    '4',
    '6',
    '1.2.3.4',
    '[::1]',
    '80',
    '4026532785',
    '3xxx9',
    'Web Content',
    'TIME(ns)',
    'SADDR',
    'DADDR',
    'T',
    'Possibly lost 2 samples',
    'é',
    '\u0000',
];

// Lost-sample messages glue lines together, which a line-by-line comparison cannot follow.
const MUTATION_ALPHABET = ALPHABET.filter((piece) => !piece.startsWith('Possibly'));

/** Real lines of every variant: what the mutation test starts from. */
const REAL_LINES: string[] = [
    ...ALL_FLAGS.flatMap((flags) => ROWS.map((r) => row(flags, r))),
    ...ALL_FLAGS.flatMap((flags) => ROWS.map((r) => row(flags, r, r.ip === 4))),
    ...splitLines(readFixture('tcptracer', 'runbook-t4v.txt')).slice(2),
    ...splitLines(readFixture('tcptracer', 'bcc-example-default.txt')).slice(2),
];

const mutation = fc.oneof(
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...MUTATION_ALPHABET) }),
    fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: fc.string({ maxLength: 3 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(line: string, m: Mutation): string {
    const at = line.length === 0 ? 0 : m.at % line.length;
    switch (m.kind) {
        case 'delete':
            return line.slice(0, at) + line.slice(at + m.length);
        case 'insert':
            return line.slice(0, at) + m.text + line.slice(at);
        case 'replace':
            return line.slice(0, at) + m.text + line.slice(at + 1);
        case 'truncate':
            return line.slice(0, at);
    }
}

describe('property: never throws, accounts for every line', () => {
    it('random bytes', async () => {
        await fc.assert(
            fc.asyncProperty(
                fc.uint8Array({ maxLength: 600 }),
                fc.array(fc.nat(600), { maxLength: 4 }),
                async (bytes, cuts) => {
                    const text = new TextDecoder().decode(bytes);
                    const streamed = await parseChunks(splitAt(bytes, cuts));
                    assert.equal(accounted(streamed.summary), dataLineCount(text));
                    assert.equal(accounted(parseTcptracer(text).summary), dataLineCount(text));
                },
            ),
            { numRuns: 300 },
        );
    });

    it('random text built from tcptracer-like pieces', () => {
        fc.assert(
            fc.property(fc.array(fc.constantFrom(...ALPHABET), { maxLength: 80 }), (pieces) => {
                const text = pieces.join('');
                assert.equal(accounted(parseTcptracer(text).summary), dataLineCount(text));
            }),
            { numRuns: 300 },
        );
    });

    it('mutated real lines: same answer line by line and in one pass, every line accounted for', () => {
        const flags = { timestamp: true, verbose: true, netnsFilter: false };
        fc.assert(
            fc.property(
                fc.array(fc.tuple(fc.constantFrom(...REAL_LINES), fc.option(mutation, { freq: 2 })), { maxLength: 25 }),
                fc.boolean(),
                (picked, withHeader) => {
                    const lines = picked.map(([line, m]) => (m === null ? line : mutate(line, m)));
                    const head = withHeader ? [BANNER, header(flags)] : [];
                    const text = [...head, ...lines].join('\n');
                    const all = parseTcptracer(text);
                    assert.equal(accounted(all.summary), dataLineCount(text));
                    // A fresh parser per line never has a learned column layout: it must agree with the pass
                    // that reads most lines by their columns.
                    const oneByOne: TcptracerEvent[] = [];
                    let skipped = 0;
                    for (const line of lines) {
                        const single = parseTcptracer([...head, line].join('\n'));
                        oneByOne.push(...single.events);
                        skipped += single.summary.skipped.lines;
                    }
                    assert.deepEqual(all.events, oneByOne);
                    assert.equal(all.summary.skipped.lines, skipped);
                },
            ),
            { numRuns: 400 },
        );
    });

    it('unmutated real lines always parse, in any order and any variant mix', () => {
        fc.assert(
            fc.property(fc.array(fc.constantFrom(...REAL_LINES), { maxLength: 40 }), (lines) => {
                const { summary } = parseTcptracer(lines.join('\n'));
                assert.equal(summary.events, lines.length);
                assert.equal(summary.skipped.lines, 0);
            }),
        );
    });
});
