// TGI's router and launcher colour their log lines with ANSI escapes (tracing's ansi output, on unless
// LOG_COLORIZE=1: router/src/logging.rs). Every line this project stores, diagnoses or shows is plain text.
const ANSI_SEQUENCE = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

export function stripAnsi(text: string): string {
  return text.includes('\x1b') ? text.replace(ANSI_SEQUENCE, '') : text;
}
