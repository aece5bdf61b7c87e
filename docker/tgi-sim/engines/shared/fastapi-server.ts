// The HTTP layer both Python engines share: FastAPI under uvicorn. Unknown paths are 404 and known
// paths with another method 405, both as `{"detail": …}` JSON; a JSON body that does not parse is
// the engine's own 400 (each engine turns FastAPI's RequestValidationError into its error body);
// every answered request gets uvicorn's access-log line.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { sendJson } from '../../http-io.ts';

export type Method = 'GET' | 'POST' | 'PUT';

export interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  /** Aborted when the client goes away before the answer is complete. */
  signal: AbortSignal;
  /** The JSON body (POST routes); throws InvalidBody when it does not parse. */
  body(): Promise<unknown>;
}

export type Handler = (request: Request) => Promise<void>;

export type RouteTable = Record<string, Partial<Record<Method, Handler>>>;

export class InvalidBody extends Error {}

/** An error the engine answers with its error body and status. */
export class EngineError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

/** FastAPI's RequestValidationError (a body that is not JSON or does not fit the model): both engines answer 400. */
export class RequestInvalid extends EngineError {
  constructor(message: string, param: string | null = null) {
    super(400, message, 'BadRequestError', param);
  }
}

export interface ServerOptions {
  routes: RouteTable;
  /** The engine's JSON error body. */
  errorBody(error: EngineError): unknown;
  /** The message of a body that is not JSON, as the engine's validation handler words it. */
  invalidJsonMessage(text: string, error: unknown): string;
  accessLog(line: string): void;
  payloadLimit?: number;
}

function readText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

const REASONS: Record<number, string> = { 200: 'OK', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 500: 'Internal Server Error', 503: 'Service Unavailable' };

export function createFastApiServer(options: ServerOptions): Server {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    res.once('finish', () => {
      const peer = `${req.socket.remoteAddress ?? '127.0.0.1'}:${req.socket.remotePort ?? 0}`.replace(/^::ffff:/, '');
      options.accessLog(`${peer} - "${req.method} ${req.url} HTTP/${req.httpVersion}" ${res.statusCode} ${REASONS[res.statusCode] ?? ''}`.trimEnd());
    });
    const methods = options.routes[path];
    if (!methods) return sendJson(res, 404, { detail: 'Not Found' });
    const handler = methods[(req.method === 'HEAD' ? 'GET' : req.method) as Method];
    if (!handler) return sendJson(res, 405, { detail: 'Method Not Allowed' }, { allow: Object.keys(methods).join(', ') });
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    let text: string | undefined;
    const body = async () => {
      text ??= await readText(req);
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        throw new RequestInvalid(options.invalidJsonMessage(text, error));
      }
    };
    handler({ req, res, signal: controller.signal, body }).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (error instanceof EngineError) return sendJson(res, error.status, options.errorBody(error));
      if (controller.signal.aborted) return;
      const internal = new EngineError(500, error instanceof Error ? error.message : String(error), 'InternalServerError');
      sendJson(res, 500, options.errorBody(internal));
    });
  });
  server.requestTimeout = 0;
  return server;
}

/** Server-sent events as Starlette's StreamingResponse writes them for both engines. */
export class EventStream {
  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.flushHeaders();
  }

  send(value: unknown): void {
    if (!this.res.writableEnded) this.res.write(`data: ${typeof value === 'string' ? value : JSON.stringify(value)}\n\n`);
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }
}

export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
