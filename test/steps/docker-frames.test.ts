/**
 * The Engine API's multiplexed output (8-byte headers + payloads) split at every possible place,
 * and a frame far larger than the kept tail: it is passed on as it arrives, never gathered whole.
 */
import { describe, expect, it } from 'vitest';
import { createDemuxer, KEEP_BYTES } from '../../src/steps/docker/frames.js';

const frame = (stream: number, payload: Buffer | string) => {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
};

describe('docker output frames', () => {
  it('demuxes frames split at every byte, UTF-8 included', () => {
    const bytes = Buffer.concat([frame(1, 'out é\n'), frame(2, 'err ü'), frame(0, ''), frame(1, 'more')]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const seen = { stdout: '', stderr: '' };
      const d = createDemuxer(false, (s, t) => (seen[s] += t));
      d.push(bytes.subarray(0, cut));
      d.push(bytes.subarray(cut));
      expect(d.end()).toEqual({ stdout: 'out é\nmore', stderr: 'err ü' });
      expect(seen).toEqual({ stdout: 'out é\nmore', stderr: 'err ü' });
    }
  });

  it('passes a 20 MiB frame on as its chunks arrive and keeps only the last 1 MiB', () => {
    const size = 20 * 1024 * 1024;
    const d = createDemuxer(false, (_s, t) => {
      got += t.length;
      calls++;
    });
    let got = 0;
    let calls = 0;
    const head = frame(1, Buffer.alloc(0));
    head.writeUInt32BE(size, 4);
    d.push(head);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    for (let sent = 0; sent < size; sent += chunk.length) {
      d.push(chunk);
      // Output arrives while the frame is still incomplete.
      expect(got).toBe(sent + chunk.length);
    }
    expect(calls).toBe(size / chunk.length);
    const { stdout } = d.end();
    expect(stdout.length).toBe(KEEP_BYTES);
  });
});
