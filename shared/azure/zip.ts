import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipEntry {
    /** Path inside the archive, forward slashes. */
    name: string;
    content: string | Uint8Array;
    /** Sets the Unix mode 0755 instead of 0644 (the run command unpacks with it where the unzipper honours it). */
    executable?: boolean;
}

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const UTF8_NAMES = 0x0800;
// 1980-01-01 00:00: a fixed timestamp keeps the archive byte-for-byte reproducible.
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

/**
 * A minimal ZIP writer (deflate, no ZIP64) for the AKS run command `context`, which must be "a base64 encoded zip file
 * containing the files required by the command".
 */
export function createZip(entries: readonly ZipEntry[]): Buffer {
    const locals: Buffer[] = [];
    const centrals: Buffer[] = [];
    let offset = 0;
    const seen = new Set<string>();
    for (const entry of entries) {
        if (!entry.name || entry.name.startsWith('/') || entry.name.split('/').includes('..')) {
            throw new RangeError(`Expected a relative zip entry name without '..', got '${entry.name}'`);
        }
        if (seen.has(entry.name)) throw new RangeError(`Duplicate zip entry name '${entry.name}'`);
        seen.add(entry.name);
        const data =
            typeof entry.content === 'string' ? Buffer.from(entry.content, 'utf8') : Buffer.from(entry.content);
        const compressed = deflateRawSync(data);
        // Tiny files grow when deflated; store those as they are.
        const deflate = compressed.length < data.length;
        const body = deflate ? compressed : data;
        const name = Buffer.from(entry.name, 'utf8');
        const crc = crc32(data);
        if (offset + 30 + name.length + body.length > 0xffffffff) throw new RangeError('Zip archive over 4 GiB');

        const local = Buffer.alloc(30);
        local.writeUInt32LE(LOCAL_HEADER, 0);
        local.writeUInt16LE(20, 4);
        local.writeUInt16LE(UTF8_NAMES, 6);
        local.writeUInt16LE(deflate ? 8 : 0, 8);
        local.writeUInt16LE(DOS_TIME, 10);
        local.writeUInt16LE(DOS_DATE, 12);
        local.writeUInt32LE(crc, 14);
        local.writeUInt32LE(body.length, 18);
        local.writeUInt32LE(data.length, 22);
        local.writeUInt16LE(name.length, 26);
        local.writeUInt16LE(0, 28);
        locals.push(local, name, body);

        const central = Buffer.alloc(46);
        central.writeUInt32LE(CENTRAL_HEADER, 0);
        central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so the external attributes carry a file mode
        central.writeUInt16LE(20, 6);
        central.writeUInt16LE(UTF8_NAMES, 8);
        central.writeUInt16LE(deflate ? 8 : 0, 10);
        central.writeUInt16LE(DOS_TIME, 12);
        central.writeUInt16LE(DOS_DATE, 14);
        central.writeUInt32LE(crc, 16);
        central.writeUInt32LE(body.length, 20);
        central.writeUInt32LE(data.length, 24);
        central.writeUInt16LE(name.length, 28);
        central.writeUInt32LE(((entry.executable ? 0o100755 : 0o100644) << 16) >>> 0, 38);
        central.writeUInt32LE(offset, 42);
        centrals.push(central, name);

        offset += local.length + name.length + body.length;
    }
    const centralDirectory = Buffer.concat(centrals);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0);
    end.writeUInt16LE(entries.length, 8);
    end.writeUInt16LE(entries.length, 10);
    end.writeUInt32LE(centralDirectory.length, 12);
    end.writeUInt32LE(offset, 16);
    return Buffer.concat([...locals, centralDirectory, end]);
}
