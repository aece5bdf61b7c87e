// Server-sent events as axum writes them for TGI: `data: {json}\n\n`, no event names, a `:\n\n`
// comment after a silence of the keep-alive interval (15 s by default), headers sent at once.
import type { ServerResponse } from 'node:http';

export class SseStream {
  private readonly controller = new AbortController();
  private keepAlive?: NodeJS.Timeout;

  constructor(
    private readonly res: ServerResponse,
    headers: Record<string, string>,
    private readonly keepAliveMs: number,
  ) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
    res.flushHeaders();
    res.on('close', () => {
      if (!res.writableFinished) this.controller.abort();
      this.stopKeepAlive();
    });
    this.armKeepAlive();
  }

  /** Aborted when the client goes away before the stream ends. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** An event whose data is the JSON of value, or a raw string such as "[DONE]". */
  send(value: unknown): void {
    if (this.res.writableEnded) return;
    this.res.write(`data: ${typeof value === 'string' ? value : JSON.stringify(value)}\n\n`);
    this.armKeepAlive();
  }

  end(): void {
    this.stopKeepAlive();
    if (!this.res.writableEnded) this.res.end();
  }

  private armKeepAlive(): void {
    this.stopKeepAlive();
    if (this.keepAliveMs <= 0) return;
    this.keepAlive = setTimeout(() => {
      if (this.res.writableEnded) return;
      this.res.write(':\n\n');
      this.armKeepAlive();
    }, this.keepAliveMs);
  }

  private stopKeepAlive(): void {
    if (this.keepAlive) clearTimeout(this.keepAlive);
    this.keepAlive = undefined;
  }
}
