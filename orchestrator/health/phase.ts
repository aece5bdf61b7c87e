// TGI's launcher log lines, in the order it prints them, mapped to the loading phase an operator sees.
const PHASES: Array<[RegExp, string]> = [
  [/Starting check and download process|Downloading|Download file/i, 'downloading weights'],
  [/Successfully downloaded weights|Starting shard|Waiting for shard to be ready/i, 'loading shards'],
  [/Shard ready in|Starting Webserver|Warming up model|Setting max batch total tokens/i, 'warming up'],
  [/\bConnected\b/, 'connected'],
];

export function phaseFromLogLine(line: string): string | undefined {
  for (const [pattern, phase] of PHASES) if (pattern.test(line)) return phase;
  return undefined;
}
