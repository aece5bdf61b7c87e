/**
 * Splits a command line into argv the way a POSIX shell would for plain words and quotes
 * ('single', "double", backslash escapes), without expansions. Undefined when a quote is unclosed.
 */
export function splitCommand(line: string): string[] | undefined {
  const argv: string[] = [];
  let word: string | undefined;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && (line[i + 1] === '"' || line[i + 1] === '\\')) word += line[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < line.length) word = (word ?? '') + line[++i];
    else if (/\s/.test(c)) {
      if (word !== undefined) argv.push(word);
      word = undefined;
    } else word = (word ?? '') + c;
  }
  if (quote) return undefined;
  if (word !== undefined) argv.push(word);
  return argv;
}
