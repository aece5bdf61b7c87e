import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { streamErrorEvents, TokenEventCounter } from '../../gateway/event-stream.ts';

describe('event streams', () => {
  test('token events are counted across chunks; [DONE], errors and comments are not', () => {
    const counter = new TokenEventCounter();
    const chunks = ['data: {"index":1}\n\n', ':\n\ndata: {"index":2}\n\ndata: {"index', '":3}\n\n', 'data:{"index":4}\n\n', 'data: [DONE]\n\n', 'data: {"error":"boom","error_type":"generation"}\n\n'];
    assert.deepEqual(chunks.map((c) => counter.count(Buffer.from(c))), [1, 2, 0, 1, 0, 0]);
  });

  test('a data: inside a value is not an event', () => {
    const counter = new TokenEventCounter();
    assert.equal(counter.count(Buffer.from('data: {"text":"data: x"}\n\n')), 1);
  });

  test('error events are framed as TGI frames them', () => {
    assert.equal(streamErrorEvents('generate', 'boom', 502), 'data: {"error":"boom","error_type":"incomplete_generation"}\n\n');
    assert.equal(streamErrorEvents('openai', 'boom', 504), 'data: {"error":{"message":"boom","http_status_code":504}}\n\ndata: [DONE]\n\n');
  });
});
