/**
 * Container output as the Engine API sends it: without a TTY, frames of an 8-byte header
 * `[stream, 0, 0, 0, u32be length]` then the payload (stream 1 = stdout, 2 = stderr); with a TTY,
 * the raw bytes of the terminal (all stdout). Chunks may split a frame or a UTF-8 character anywhere.
 */
import { StringDecoder } from 'node:string_decoder';

export type OutputStream = 'stdout' | 'stderr';

/** Keep at most this much of each stream in the result (the last part); shell keeps 1 MiB too. */
export const KEEP_BYTES = 1024 * 1024;

export interface Demuxer {
  push(chunk: Buffer): void;
  /** Flush what is left (a partial UTF-8 character) and return the collected text. */
  end(): { stdout: string; stderr: string };
}

/** Split the byte stream into stdout/stderr text, calling `onText` as it arrives. */
export function createDemuxer(tty: boolean, onText: (stream: OutputStream, text: string) => void): Demuxer {
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  const kept = { stdout: '', stderr: '' };
  let pending: Buffer = Buffer.alloc(0);

  const emit = (stream: OutputStream, bytes: Buffer) => {
    const text = decoders[stream].write(bytes);
    if (text === '') return;
    kept[stream] = keepTail(kept[stream] + text);
    onText(stream, text);
  };

  return {
    push(chunk) {
      if (tty) return emit('stdout', chunk);
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 8) {
        const size = pending.readUInt32BE(4);
        if (pending.length < 8 + size) break;
        // Stream 0 is stdin echoed back; Docker documents it as stdout.
        emit(pending[0] === 2 ? 'stderr' : 'stdout', pending.subarray(8, 8 + size));
        pending = pending.subarray(8 + size);
      }
    },
    end() {
      for (const stream of ['stdout', 'stderr'] as const) {
        const rest = decoders[stream].end();
        if (rest !== '') {
          kept[stream] = keepTail(kept[stream] + rest);
          onText(stream, rest);
        }
      }
      return { ...kept };
    },
  };
}

function keepTail(text: string): string {
  return text.length > KEEP_BYTES ? text.slice(text.length - KEEP_BYTES) : text;
}
