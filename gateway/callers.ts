import type { IncomingMessage } from 'node:http';
import type { Caller } from './types.ts';

// Who sent each authenticated request, and which models a caller may use. Auth records the caller
// here; dispatch, the model list and accounting read it.

export const OPERATOR: Caller = { name: 'operator', operator: true, limits: {} };

const callers = new WeakMap<IncomingMessage, Caller>();

export function setCaller(req: IncomingMessage, caller: Caller): void {
  callers.set(req, caller);
}

/** The request's caller; the operator when auth did not record one (routes served without a token). */
export function callerOf(req: IncomingMessage): Caller {
  return callers.get(req) ?? OPERATOR;
}

const patterns = new Map<string, RegExp>();

function patternOf(glob: string): RegExp {
  let re = patterns.get(glob);
  if (!re) patterns.set(glob, (re = new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)));
  return re;
}

/** Whether `caller` may use `model` (its scope's patterns; no scope: every model). */
export function mayUse(caller: Caller, model: string): boolean {
  return caller.models === undefined || caller.models.some((glob) => patternOf(glob).test(model));
}
