import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BATCH_BYTES, FileSink } from '../../src/steps/s3/file-sink.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'runbook-file-sink-'));
});
afterAll(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

/** FileHandle's prototype (the class is not exported). */
async function fileHandlePrototype() {
  const fh = await open(join(dir, 'probe'), 'w');
  await fh.close();
  return Object.getPrototypeOf(fh) as {
    write: (buffer: Buffer, offset: number, length: number) => Promise<{ bytesWritten: number; buffer: Buffer }>;
  };
}

/** `data` cut into chunks of irregular sizes (1 byte to 64 KiB), as a response body arrives. */
function chunksOf(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, k = 0; at < data.length; k++) {
    const size = [65_536, 1, 16_384, 40_000, 7][k % 5];
    out.push(data.subarray(at, at + size));
    at += size;
  }
  return out;
}

const openFds = () => readdirSync('/proc/self/fd').length;

describe('FileSink (the s3 get\'s writer)', () => {
  it('writes every byte in order, hashes and counts them, in one write per batch', async () => {
    const proto = await fileHandlePrototype();
    const write = vi.spyOn(proto, 'write');
    const data = randomBytes(3 * BATCH_BYTES + 12_345);
    const seen: number[] = [];
    const sink = new FileSink(join(dir, 'a.bin'), (bytes) => seen.push(bytes));
    let calls: number[];
    try {
      await pipeline(Readable.from(chunksOf(data)), sink);
    } finally {
      calls = write.mock.calls.map(([, , length]) => length);
      write.mockRestore();
    }
    expect((await readFile(join(dir, 'a.bin'))).equals(data)).toBe(true);
    expect(sink.bytes).toBe(data.length);
    expect(sink.digest()).toBe(createHash('sha256').update(data).digest('hex'));
    // ~40 chunks a MiB, written in four calls: three full batches (a chunk that crosses the line is
    // split between two) and the rest at the end.
    expect(calls).toEqual([BATCH_BYTES, BATCH_BYTES, BATCH_BYTES, 12_345]);
    expect(seen[0]).toBe(65_536);
  });

  it('continues a short write where it stopped', async () => {
    const proto = await fileHandlePrototype();
    const real = proto.write;
    // Each call writes at most 100,001 bytes of what it is given.
    const write = vi
      .spyOn(proto, 'write')
      .mockImplementation(async function (this: unknown, buffer: Buffer, offset: number, length: number) {
        return real.call(this, buffer, offset, Math.min(length, 100_001));
      });
    const data = randomBytes(BATCH_BYTES + 777);
    let calls: number;
    try {
      await pipeline(Readable.from(chunksOf(data)), new FileSink(join(dir, 'short.bin')));
    } finally {
      calls = write.mock.calls.length;
      write.mockRestore();
    }
    expect((await readFile(join(dir, 'short.bin'))).equals(data)).toBe(true);
    expect(calls).toBeGreaterThan(10);
  });

  it('fails, rather than loops, when a write takes nothing', async () => {
    const proto = await fileHandlePrototype();
    const write = vi.spyOn(proto, 'write').mockResolvedValue({ bytesWritten: 0, buffer: Buffer.alloc(0) });
    try {
      await expect(pipeline(Readable.from([randomBytes(10)]), new FileSink(join(dir, 'none.bin')))).rejects.toThrow('wrote nothing');
    } finally {
      write.mockRestore();
    }
  });

  it('fails when the file cannot be created', async () => {
    await expect(pipeline(Readable.from([Buffer.from('x')]), new FileSink(join(dir, 'missing', 'b.bin')))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('closes its file when the body fails half-way', async () => {
    const before = openFds();
    const body = new Readable({ read() {} });
    const sink = new FileSink(join(dir, 'cut.bin'));
    const done = pipeline(body, sink);
    body.push(randomBytes(BATCH_BYTES + 1));
    await new Promise((r) => setTimeout(r, 20));
    body.destroy(new Error('connection reset'));
    await expect(done).rejects.toThrow('connection reset');
    expect(sink.destroyed).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(openFds()).toBe(before);
  });
});
