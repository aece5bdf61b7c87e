// A real pseudo-terminal to type commands into: an interactive bash in a detached tmux session on a
// private socket (other tmux servers on the machine are not touched). Keys go in with send-keys,
// so Ctrl-C reaches the foreground process group exactly as it does for an operator.
import { execFile, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function tmuxInstalled(): boolean {
  return spawnSync('tmux', ['-V']).status === 0;
}

/** ANSI escapes (colours, bracketed paste, cursor moves) and carriage returns removed. */
function plainText(raw: string): string {
  return raw.replace(/\x1b\][^\x07]*\x07/g, '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\x1b[=>]/g, '').replace(/\r/g, '');
}

export class Terminal {
  private constructor(
    private readonly socket: string,
    private readonly transcript: string,
  ) {}

  /** Opens bash in a 220x50 terminal; everything shown in it is appended to <dir>/terminal.log. */
  static async open(dir: string, env: NodeJS.ProcessEnv): Promise<Terminal> {
    const terminal = new Terminal(join(dir, 'tmux.sock'), join(dir, 'terminal.log'));
    const shellEnv = { ...env, TMUX: undefined, PS1: '$ ' };
    await run('tmux', ['-S', terminal.socket, 'new-session', '-d', '-s', 'main', '-x', '220', '-y', '50', 'bash --norc --noprofile'], { env: shellEnv });
    await terminal.tmux('pipe-pane', '-o', '-t', 'main', `cat >> '${terminal.transcript}'`);
    return terminal;
  }

  /** Types a command line and presses Enter. */
  async type(line: string): Promise<void> {
    await this.tmux('send-keys', '-t', 'main', '-l', line);
    await this.tmux('send-keys', '-t', 'main', 'Enter');
  }

  async pressCtrlC(): Promise<void> {
    await this.tmux('send-keys', '-t', 'main', 'C-c');
  }

  /** True while the shell itself is in the foreground: the typed command line has ended. */
  async atPrompt(): Promise<boolean> {
    const { stdout } = await run('tmux', ['-S', this.socket, 'display-message', '-p', '-t', 'main', '#{pane_current_command}']);
    return stdout.trim() === 'bash';
  }

  /** What the terminal has shown so far, as plain text. */
  async output(): Promise<string> {
    return plainText(await readFile(this.transcript, 'utf8').catch(() => ''));
  }

  async close(): Promise<void> {
    await this.tmux('kill-server').catch(() => {});
  }

  private async tmux(...args: string[]): Promise<void> {
    await run('tmux', ['-S', this.socket, ...args]);
  }
}
