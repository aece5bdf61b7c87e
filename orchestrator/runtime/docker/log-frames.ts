import { stripAnsi } from '../../health/ansi.ts';

const HEADER_BYTES = 8;

/**
 * Decodes the log stream of a container created without a TTY: frames of an 8-byte header
 * (byte 0: 1 stdout / 2 stderr, bytes 4–7: payload length, big endian) and the payload, into text lines.
 * Frames need not end at line ends, so an unfinished line is kept per stream until the rest arrives.
 * Lines come out without ANSI colour codes.
 */
export class LogFrameDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private readonly partial = new Map<number, string>();

  /** Feeds raw bytes; returns the lines they completed. */
  push(chunk: Buffer): string[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const lines: string[] = [];
    while (this.pending.length >= HEADER_BYTES) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < HEADER_BYTES + size) break;
      const stream = this.pending[0];
      const text = (this.partial.get(stream) ?? '') + this.pending.subarray(HEADER_BYTES, HEADER_BYTES + size).toString('utf8');
      this.pending = this.pending.subarray(HEADER_BYTES + size);
      const parts = text.split(/\r?\n/);
      this.partial.set(stream, parts.pop() ?? '');
      lines.push(...parts.map(stripAnsi));
    }
    return lines;
  }

  /** The unfinished lines, once the stream has ended. */
  end(): string[] {
    const rest = [...this.partial.values()].filter((line) => line.length > 0).map(stripAnsi);
    this.partial.clear();
    return rest;
  }
}
