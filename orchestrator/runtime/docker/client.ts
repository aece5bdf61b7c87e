import Dockerode from 'dockerode';
import { log } from '../../log.ts';

let shared: Dockerode | undefined;

/**
 * The process's Docker client. dockerode (docker-modem) reads DOCKER_HOST (unix://, tcp://, ssh://,
 * npipe://), DOCKER_TLS_VERIFY and DOCKER_CERT_PATH itself; without DOCKER_HOST it uses
 * ~/.docker/run/docker.sock when that exists, else /var/run/docker.sock.
 */
export function dockerClient(): Dockerode {
  shared ??= new Dockerode();
  return shared;
}

/** Where a client talks to, for messages: "unix:///var/run/docker.sock", "tcp://host:2375", … */
export function dockerEndpoint(docker: Dockerode): string {
  const modem = docker.modem as { host?: string; port?: string | number; protocol?: string; socketPath?: unknown };
  if (modem.host) return `${modem.protocol ?? 'http'}://${modem.host}${modem.port ? `:${modem.port}` : ''}`;
  if (typeof modem.socketPath === 'string') return `unix://${modem.socketPath}`;
  return process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

interface DockerApiError {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  message?: string;
}

/** The HTTP status of an Engine API error (404 no such container, 409 conflict, …), if it has one. */
export function dockerStatus(error: unknown): number | undefined {
  return (error as DockerApiError | undefined)?.statusCode;
}

/** True when the engine could not be reached at all (no socket, refused, no permission, unknown host). */
export function isUnreachable(error: unknown): boolean {
  const code = (error as DockerApiError | undefined)?.code;
  return dockerStatus(error) === undefined && ['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET'].includes(code ?? '');
}

/** The daemon's own words for an API error, without dockerode's "(HTTP code 500) server error -" prefix. */
export function dockerMessage(error: unknown): string {
  const e = error as DockerApiError | undefined;
  const message = e?.json?.message ?? e?.message ?? String(error);
  return message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

function unreachableError(error: unknown, docker: Dockerode): Error {
  return new Error(`Docker is not reachable at ${dockerEndpoint(docker)}: ${dockerMessage(error)} — start dockerd or set DOCKER_HOST`, { cause: error });
}

/** Turns "cannot connect" into an error that names the endpoint and says what to do; other errors pass through. */
export function explainDockerError(error: unknown, docker: Dockerode): Error {
  if (isUnreachable(error)) return unreachableError(error, docker);
  return error instanceof Error ? error : new Error(dockerMessage(error));
}

/** Checks that the engine answers; throws "Docker is not reachable at <endpoint>: <cause> — …" otherwise. */
export async function pingDocker(docker: Dockerode = dockerClient()): Promise<void> {
  try {
    await docker.ping();
  } catch (error) {
    throw dockerStatus(error) === undefined ? unreachableError(error, docker) : explainDockerError(error, docker);
  }
}

/** Runs one Engine API call, logging "doing X… / did X" at debug level. */
export async function dockerStep<T>(what: string, call: () => Promise<T>): Promise<T> {
  log.debug(`${what}…`);
  const result = await call();
  log.debug(`did ${what}`);
  return result;
}

/**
 * Like dockerStep for stop/remove: "already stopped" (304), "no such container" (404) and
 * "removal already in progress" (409) mean the goal is reached, so they count as success.
 */
export async function dockerStepIdempotent(what: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await dockerStep(what, call);
  } catch (error) {
    const status = dockerStatus(error);
    const done = status === 304 || status === 404 || (status === 409 && /already in progress/i.test(dockerMessage(error)));
    if (!done) throw error;
    log.debug(`did ${what} (${status === 304 ? 'already stopped' : 'already gone'})`);
  }
}
