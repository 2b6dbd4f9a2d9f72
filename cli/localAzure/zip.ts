import { crc32, inflateRawSync } from 'node:zlib';

/** Reads a ZIP archive (stored or deflated entries, no ZIP64) the way the run command service unpacks `context`. */
export function readZip(archive: Buffer): Map<string, Buffer> {
    let end = -1;
    for (let i = archive.length - 22; i >= 0; i--) {
        if (archive.readUInt32LE(i) === 0x06054b50) {
            end = i;
            break;
        }
    }
    if (end < 0) throw new Error('not a zip archive: no end of central directory record');
    const count = archive.readUInt16LE(end + 10);
    let at = archive.readUInt32LE(end + 16);
    const files = new Map<string, Buffer>();
    for (let i = 0; i < count; i++) {
        if (archive.readUInt32LE(at) !== 0x02014b50) throw new Error(`bad central directory entry ${i}`);
        const method = archive.readUInt16LE(at + 10);
        const crc = archive.readUInt32LE(at + 16);
        const compressedSize = archive.readUInt32LE(at + 20);
        const nameLength = archive.readUInt16LE(at + 28);
        const extraLength = archive.readUInt16LE(at + 30);
        const commentLength = archive.readUInt16LE(at + 32);
        const localOffset = archive.readUInt32LE(at + 42);
        const name = archive.toString('utf8', at + 46, at + 46 + nameLength);
        if (archive.readUInt32LE(localOffset) !== 0x04034b50) throw new Error(`bad local header for ${name}`);
        const dataStart =
            localOffset + 30 + archive.readUInt16LE(localOffset + 26) + archive.readUInt16LE(localOffset + 28);
        const raw = archive.subarray(dataStart, dataStart + compressedSize);
        let data: Buffer;
        if (method === 0) data = Buffer.from(raw);
        else if (method === 8) data = inflateRawSync(raw);
        else throw new Error(`unsupported compression method ${method} for ${name}`);
        if (crc32(data) !== crc) throw new Error(`CRC mismatch for ${name}`);
        files.set(name, data);
        at += 46 + nameLength + extraLength + commentLength;
    }
    return files;
}
