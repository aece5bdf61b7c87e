import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stripAnsi } from '../../orchestrator/health/ansi.ts';
import { LogFrameDecoder } from '../../orchestrator/runtime/docker/log-frames.ts';

// A line as TGI's router prints it with tracing's ANSI output on (router/src/logging.rs: on unless LOG_COLORIZE=1).
const COLOURED = '\x1b[2m2026-12-01T10:00:00.000000Z\x1b[0m \x1b[32m INFO\x1b[0m \x1b[2mtext_generation_router::server\x1b[0m\x1b[2m:\x1b[0m Connected';

test('colour codes are stripped, the text is kept', () => {
  assert.equal(stripAnsi(COLOURED), '2026-12-01T10:00:00.000000Z  INFO text_generation_router::server: Connected');
  assert.equal(stripAnsi('plain line'), 'plain line');
  assert.equal(stripAnsi('\x1b]0;title\x07after'), 'after');
});

test('container log lines come out without colour codes', () => {
  const payload = Buffer.from(`${COLOURED}\n`);
  const header = Buffer.alloc(8);
  header[0] = 1;
  header.writeUInt32BE(payload.length, 4);
  const lines = new LogFrameDecoder().push(Buffer.concat([header, payload]));
  assert.deepEqual(lines, ['2026-12-01T10:00:00.000000Z  INFO text_generation_router::server: Connected']);
});
