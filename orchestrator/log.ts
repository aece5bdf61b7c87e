import { createRequire } from 'node:module';
import pino from 'pino';
import type pretty from 'pino-pretty';

// One logger for the whole process. Human-readable one-liners on a terminal (or LOG_FORMAT=pretty),
// JSON lines otherwise (LOG_FORMAT=json) so log shippers can parse them. LOG_LEVEL sets the level.
// The bearer token and deployment env are never passed to it; `redact` is a second line of defence.
const wantPretty = process.env.LOG_FORMAT ? process.env.LOG_FORMAT === 'pretty' : Boolean(process.stdout.isTTY);

export const log = pino(
  {
    level: process.env.LOG_LEVEL ?? 'info',
    redact: { paths: ['token', '*.token', 'authorization', '*.authorization', 'headers.authorization', 'env', '*.env'], censor: '[redacted]' },
  },
  // pino-pretty is loaded only for a terminal: services that log JSON lines do not pay for it.
  wantPretty ? (createRequire(import.meta.url)('pino-pretty') as typeof pretty)({ sync: true, hideObject: true, colorize: Boolean(process.stdout.isTTY), ignore: 'pid,hostname', translateTime: 'HH:MM:ss' }) : undefined,
);

export type Logger = typeof log;
