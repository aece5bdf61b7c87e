import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogFrameDecoder } from '../../orchestrator/runtime/docker/log-frames.ts';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

test('decodes stdout and stderr frames into lines', () => {
  const decoder = new LogFrameDecoder();
  const lines = decoder.push(Buffer.concat([frame(1, 'Starting shard\nShard ready in 1.2s\n'), frame(2, 'warning: slow\n')]));
  assert.deepEqual(lines, ['Starting shard', 'Shard ready in 1.2s', 'warning: slow']);
});

test('frames split across chunks, and lines split across frames, come out whole', () => {
  const decoder = new LogFrameDecoder();
  const bytes = Buffer.concat([frame(1, 'Warming up '), frame(2, 'err line\n'), frame(1, 'model\r\nConnected')]);
  const seen: string[] = [];
  for (let i = 0; i < bytes.length; i += 5) seen.push(...decoder.push(bytes.subarray(i, i + 5)));
  assert.deepEqual(seen, ['err line', 'Warming up model']);
  assert.deepEqual(decoder.end(), ['Connected']);
});
