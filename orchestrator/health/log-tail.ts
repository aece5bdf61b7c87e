/** The last N lines a server printed, for failure reports. */
export class LogTail {
  private readonly buffer: string[] = [];
  private partial = '';

  constructor(private readonly capacity = 40) {}

  /** Feeds raw output; splits it into lines. Returns the complete lines it contained. */
  write(chunk: string | Buffer): string[] {
    const text = this.partial + chunk.toString();
    const lines = text.split(/\r?\n/);
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.push(line);
    return lines;
  }

  push(line: string): void {
    if (!line.trim()) return;
    this.buffer.push(line);
    if (this.buffer.length > this.capacity) this.buffer.shift();
  }

  lines(n = this.capacity): string[] {
    const all = this.partial.trim() ? [...this.buffer, this.partial] : this.buffer;
    return all.slice(-n);
  }
}
