// SGLang's log format (python/sglang/srt/utils.py configure_logger): `[2025-12-01 21:23:03] message`
// for the HTTP server process, `[2025-12-01 21:23:03 TP0] message` for a scheduler (one per TP
// rank); uvicorn's lines get the same time prefix (`[…] INFO:     Uvicorn running on …`).
import { two, writeLine } from '../shared/python-log.ts';

function stamp(rank?: number): string {
  const at = new Date();
  const time = `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`;
  return rank === undefined ? `[${time}]` : `[${time} TP${rank}]`;
}

export function sglangLog(message: string): void {
  writeLine(`${stamp()} ${message}`);
}

export function schedulerLog(rank: number, message: string): void {
  writeLine(`${stamp(rank)} ${message}`);
}

export function uvicornLog(message: string): void {
  writeLine(`${stamp()} INFO:     ${message}`);
}
