// vLLM's log format (vllm/logger.py): `INFO 12-01 21:23:03 [api_server.py:1885] message`, behind
// the process prefix `(APIServer pid=N) ` that vLLM ≥ 0.10.2 puts on every line of the API server
// process; uvicorn's own lines keep uvicorn's format (`INFO:     Started server process [N]`).
import { two, writeLine } from '../shared/python-log.ts';

export type VllmLevel = 'INFO' | 'WARNING' | 'ERROR';

function stamp(at = new Date()): string {
  return `${two(at.getMonth() + 1)}-${two(at.getDate())} ${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`;
}

const prefix = () => `(APIServer pid=${process.pid}) `;

/** `source` is the file and line vLLM's record names, e.g. "api_server.py:1885". */
export function vllmLog(source: string, message: string, level: VllmLevel = 'INFO'): void {
  writeLine(`${prefix()}${level} ${stamp()} [${source}] ${message}`);
}

export function uvicornLog(message: string): void {
  writeLine(`${prefix()}INFO:     ${message}`);
}
