import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { expandVariables } from '../config/interpolate.ts';

// One setting under `gateway:` of a models.yaml, for commands that act on a fleet without running it
// (`status`, `down`, `keys`): read as `up` reads it (${VAR}s expanded) but without validating the
// rest of the file, so a command never needs the host's GPUs or a file that is valid in every part.

export type Peeked = { value: string } | { problem: string };

/** undefined: no such file, or it does not set the key. */
export async function peekGatewayText(file: string, key: string): Promise<Peeked | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let raw: unknown;
  try {
    raw = (parse(text) as { gateway?: Record<string, unknown> } | null)?.gateway?.[key];
  } catch (error) {
    return { problem: `${file} is not valid YAML (${(error as Error).message.split('\n')[0]})` };
  }
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') return { problem: `gateway.${key} of ${file} must be text` };
  const expanded = expandVariables(raw, process.env);
  if (!('value' in expanded) || !expanded.value) return { problem: `gateway.${key} of ${file} expands to nothing` };
  return { value: expanded.value };
}
