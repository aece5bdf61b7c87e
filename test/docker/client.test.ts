import { test } from 'node:test';
import assert from 'node:assert/strict';
import Dockerode from 'dockerode';
import { Deployment } from '../../orchestrator/deployment/deployment.ts';
import { dockerEndpoint, pingDocker } from '../../orchestrator/runtime/docker/client.ts';
import { DockerRuntime } from '../../orchestrator/runtime/docker/docker-runtime.ts';
import { testSpec } from './spec.ts';

/** A client made while DOCKER_HOST has the given value (dockerode reads it when constructed). */
function clientWith(dockerHost: string): Dockerode {
  const saved = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = dockerHost;
  try {
    return new Dockerode();
  } finally {
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
  }
}

test('DOCKER_HOST chooses the engine, and an unreachable one is named in the error with what to do', async () => {
  const docker = clientWith('unix:///tmp/tgi-fleet-no-such-docker.sock');
  assert.equal(dockerEndpoint(docker), 'unix:///tmp/tgi-fleet-no-such-docker.sock');
  await assert.rejects(pingDocker(docker), {
    message: 'Docker is not reachable at unix:///tmp/tgi-fleet-no-such-docker.sock: connect ENOENT /tmp/tgi-fleet-no-such-docker.sock — start dockerd or set DOCKER_HOST',
  });

  const overTcp = clientWith('tcp://127.0.0.1:1');
  assert.equal(dockerEndpoint(overTcp), 'http://127.0.0.1:1');
  await assert.rejects(pingDocker(overTcp), /^Error: Docker is not reachable at http:\/\/127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1 — start dockerd or set DOCKER_HOST$/);
});

test('a deployment started without a reachable engine fails with that message and a diagnosis', async () => {
  const docker = clientWith('unix:///tmp/tgi-fleet-no-such-docker.sock');
  const runtime = new DockerRuntime({ docker, fleet: 'unreachable' });
  const d = new Deployment(testSpec({ model: 'm' }));
  await runtime.start(d);
  await runtime.close();
  assert.equal(d.state, 'failed');
  assert.match(d.lastFailure!.message, /^Docker is not reachable at unix:\/\/\/tmp\/tgi-fleet-no-such-docker\.sock: connect ENOENT/);
  assert.match(d.lastFailure!.diagnosis ?? '', /Docker is not reachable: start dockerd \(or set DOCKER_HOST\)/);
});
