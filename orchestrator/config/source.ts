import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { Path } from './problem.ts';

export interface Position {
  line: number;
  column: number;
}

/** Places key paths and offsets of a parsed YAML document in its text (1-based lines and columns). */
export class SourceMap {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Where `path` is written: its value (or its key), or else the deepest part of the path that exists. */
  position(path: Path, at: 'key' | 'value' = 'value'): Position {
    let node = this.resolve(this.doc.contents as Node | null);
    let offset = node?.range?.[0] ?? 0;
    for (const [i, segment] of path.entries()) {
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) break;
        const key = pair.key as Node;
        const value = this.resolve(pair.value as Node | null);
        offset = (last && at === 'key') || !value?.range ? (key.range?.[0] ?? offset) : value.range[0];
        node = value;
      } else if (isSeq(node) && typeof segment === 'number' && node.items[segment]) {
        node = this.resolve(node.items[segment] as Node);
        offset = node?.range?.[0] ?? offset;
      } else break;
    }
    return this.at(offset);
  }

  /** The key path of the innermost node written at `offset` (for YAML syntax errors). */
  pathAt(offset: number): Path {
    const path: (string | number)[] = [];
    let node = this.doc.contents as Node | null;
    for (;;) {
      const inside = (n: unknown): n is Node => Boolean(n && (n as Node).range && (n as Node).range![0] <= offset && offset <= (n as Node).range![2]);
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && (inside(p.value) || inside(p.key)));
        if (!pair || !isScalar(pair.key)) return path;
        path.push(String(pair.key.value));
        node = pair.value as Node | null;
      } else if (isSeq(node)) {
        const index = node.items.findIndex(inside);
        if (index === -1) return path;
        path.push(index);
        node = node.items[index] as Node;
      } else return path;
    }
  }

  at(offset: number): Position {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  private resolve(node: Node | null | undefined): Node | null {
    return isAlias(node) ? ((node.resolve(this.doc) as Node | undefined) ?? null) : (node ?? null);
  }
}
