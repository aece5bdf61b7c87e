import type Dockerode from 'dockerode';
import { LogFrameDecoder } from './log-frames.ts';

export interface ContainerLogOptions {
  follow: boolean;
  /** Lines from the end to start with; all when undefined. */
  tail?: number;
  /** Only lines from this time on: UNIX seconds, fractions allowed ("1700000000.123456789"). */
  since?: string;
  /** Only lines up to this time (same form as since). */
  until?: string;
  signal?: AbortSignal;
}

/** A container's stdout and stderr as text lines; following ends when the container stops or the signal aborts. */
export async function* containerLogLines(container: Dockerode.Container, options: ContainerLogOptions): AsyncGenerator<string> {
  const query: Dockerode.ContainerLogsOptions = { stdout: true, stderr: true };
  if (options.tail !== undefined) query.tail = options.tail;
  if (options.since) query.since = options.since;
  if (options.until) query.until = options.until;
  const decoder = new LogFrameDecoder();
  if (!options.follow) {
    yield* decoder.push(await container.logs({ ...query, follow: false }));
    yield* decoder.end();
    return;
  }
  try {
    const stream = await container.logs({ ...query, follow: true, abortSignal: options.signal });
    for await (const chunk of stream) yield* decoder.push(chunk as Buffer);
  } catch (error) {
    if (!options.signal?.aborted) throw error;
  }
  yield* decoder.end();
}
