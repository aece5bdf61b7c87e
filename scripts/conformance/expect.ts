// What a case uses to say how the server's answer differs from the contract (or why it cannot run).
import type { Answer } from './client.ts';

export class Differ extends Error {}
export class Skip extends Error {}

export function differ(message: string): never {
  throw new Differ(message);
}

export function skip(reason: string): never {
  throw new Skip(reason);
}

function show(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) differ(message);
}

export function same(actual: unknown, expected: unknown, what: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) differ(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

export function status(answer: Answer, expected: number): void {
  if (answer.status !== expected) differ(`status ${answer.status} (expected ${expected}): ${show(answer.text)}`);
}

export function json(answer: Answer): any {
  try {
    return JSON.parse(answer.text);
  } catch {
    differ(`not JSON: ${show(answer.text)}`);
  }
}

/** A router error: this status, JSON, exactly {error, error_type}. */
export function routerError(answer: Answer, code: number, error: string | RegExp, errorType: string): void {
  status(answer, code);
  check((answer.headers.get('content-type') ?? '').startsWith('application/json'), `content-type ${answer.headers.get('content-type')}, expected application/json`);
  const body = json(answer);
  same(Object.keys(body), ['error', 'error_type'], 'error body keys');
  if (typeof error === 'string') same(body.error, error, 'error');
  else check(error.test(body.error), `error ${show(body.error)} does not match ${error}`);
  same(body.error_type, errorType, 'error_type');
}

/** An axum rejection: this status, plain text, starting with `prefix`. */
export function plainRejection(answer: Answer, code: number, prefix: string, contains?: string): void {
  status(answer, code);
  check((answer.headers.get('content-type') ?? '').startsWith('text/plain'), `content-type ${answer.headers.get('content-type')}, expected text/plain`);
  check(answer.text.startsWith(prefix), `body ${show(answer.text)} does not start with ${show(prefix)}`);
  if (contains) check(answer.text.includes(contains), `body ${show(answer.text)} does not contain ${show(contains)}`);
}

export function isType(value: unknown, type: 'string' | 'number' | 'boolean' | 'object', what: string): void {
  check(typeof value === type && value !== null, `${what}: expected a ${type}, got ${show(value)}`);
}
