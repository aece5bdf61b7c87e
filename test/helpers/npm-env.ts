/**
 * The npm_* variables a parent npm (`npm test`) has set, mapped to undefined: spread over an
 * environment they unset them (child_process drops undefined values). With them a nested npm would
 * take the parent's project for its own (npm_config_local_prefix) instead of the one in its cwd.
 */
export function unsetNpmVariables(env: NodeJS.ProcessEnv = process.env): Record<string, undefined> {
  return Object.fromEntries(Object.keys(env).filter((name) => name.toLowerCase().startsWith('npm_')).map((name) => [name, undefined]));
}
