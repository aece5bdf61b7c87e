import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { log } from '../../log.ts';

/** What the Engine API's X-Registry-Auth header carries for a pull. */
export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ADDRESS = 'https://index.docker.io/v1/';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** The registry an image reference points at: "ghcr.io/org/x:1" → "ghcr.io"; "ubuntu" → "docker.io". */
export function registryOf(image: string): string {
  const slash = image.indexOf('/');
  if (slash < 0) return DOCKER_HUB;
  const first = image.slice(0, slash);
  const isHost = first.includes('.') || first.includes(':') || first === 'localhost';
  return isHost && !DOCKER_HUB_ALIASES.has(first) ? first : DOCKER_HUB;
}

/** "https://index.docker.io/v1/" → "docker.io"; "https://ghcr.io" → "ghcr.io". */
function normalizeRegistry(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string }>;
}

/**
 * Credentials for pulling `image`, read from the Docker client's config (`$DOCKER_CONFIG/config.json`,
 * default ~/.docker/config.json) as `docker login` leaves them: `auths.<registry>.auth` = base64("user:password").
 * Credential helpers (credsStore / credHelpers) are not consulted: on a GPU server `docker login` stores
 * the base64 form unless a desktop keychain is configured; such hosts can pull the image beforehand.
 * Undefined when there is no config or no entry for the registry (anonymous pull).
 */
export async function registryAuth(image: string, configDir = process.env.DOCKER_CONFIG || join(homedir(), '.docker')): Promise<RegistryAuth | undefined> {
  const file = join(configDir, 'config.json');
  let config: DockerConfigFile;
  try {
    config = JSON.parse(await readFile(file, 'utf8')) as DockerConfigFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`cannot read registry credentials from ${file} (${(error as Error).message}); pulling ${image} anonymously`);
    return undefined;
  }
  const registry = registryOf(image);
  const entry = Object.entries(config.auths ?? {}).find(([key, value]) => normalizeRegistry(key) === registry && value.auth);
  if (!entry) return undefined;
  const decoded = Buffer.from(entry[1].auth!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return {
    username: decoded.slice(0, colon),
    password: decoded.slice(colon + 1),
    serveraddress: registry === DOCKER_HUB ? DOCKER_HUB_ADDRESS : registry,
  };
}
