/**
 * Container output as the Engine API sends it: without a TTY, frames of an 8-byte header
 * `[stream, 0, 0, 0, u32be length]` then the payload (stream 1 = stdout, 2 = stderr); with a TTY,
 * the raw bytes of the terminal (all stdout). Chunks may split a header, a payload or a UTF-8
 * character anywhere.
 *
 * Memory stays bounded whatever the container prints (spec §12): a payload is passed on as its
 * bytes arrive (a frame may be 200 MB of one line), never gathered whole, and only the last
 * `KEEP_BYTES` of each stream are kept for the result.
 */
import { StringDecoder } from 'node:string_decoder';
import { TailBuffer } from '../../transport/local/tail.js';

export type OutputStream = 'stdout' | 'stderr';

/** Keep at most this much of each stream in the result (the last part); shell keeps 1 MiB too. */
export const KEEP_BYTES = 1024 * 1024;

export interface Demuxer {
  push(chunk: Buffer): void;
  /** Flush what is left (a partial UTF-8 character) and return the collected text (the last KEEP_BYTES of each stream). */
  end(): { stdout: string; stderr: string };
}

/** Split the byte stream into stdout/stderr text, calling `onText` as it arrives. */
export function createDemuxer(tty: boolean, onText: (stream: OutputStream, text: string) => void): Demuxer {
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  const kept = { stdout: new TailBuffer(KEEP_BYTES), stderr: new TailBuffer(KEEP_BYTES) };
  // The header being read (up to 8 bytes), then how much of the current payload is still to come.
  let header = Buffer.alloc(0);
  let stream: OutputStream = 'stdout';
  let remaining = 0;

  const emit = (s: OutputStream, bytes: Buffer) => {
    if (bytes.length === 0) return;
    kept[s].push(bytes);
    const text = decoders[s].write(bytes);
    if (text !== '') onText(s, text);
  };

  return {
    push(chunk) {
      if (tty) return emit('stdout', chunk);
      let at = 0;
      while (at < chunk.length) {
        if (remaining > 0) {
          const part = chunk.subarray(at, at + remaining);
          remaining -= part.length;
          at += part.length;
          emit(stream, part);
          continue;
        }
        const need = 8 - header.length;
        header = Buffer.concat([header, chunk.subarray(at, at + need)]);
        at += Math.min(need, chunk.length - at);
        if (header.length < 8) break;
        // Stream 0 is stdin echoed back; Docker documents it as stdout.
        stream = header[0] === 2 ? 'stderr' : 'stdout';
        remaining = header.readUInt32BE(4);
        header = Buffer.alloc(0);
      }
    },
    end() {
      for (const s of ['stdout', 'stderr'] as const) {
        const rest = decoders[s].end();
        if (rest !== '') onText(s, rest);
      }
      return { stdout: kept.stdout.text(), stderr: kept.stderr.text() };
    },
  };
}
