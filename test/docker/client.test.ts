import { test } from 'node:test';
import assert from 'node:assert/strict';
import Dockerode from 'dockerode';
import type { StateChange } from '../../gateway/types.ts';
import { RestartRecords } from '../../orchestrator/deployment/restart-records.ts';
import { DeploymentSupervisor } from '../../orchestrator/deployment/supervisor.ts';
import { dockerEndpoint, pingDocker } from '../../orchestrator/runtime/docker/client.ts';
import { DockerDriver } from '../../orchestrator/runtime/docker/docker-driver.ts';
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

test('a deployment whose engine cannot be reached is down (not failed), saying why, and waits for the engine', async () => {
  const docker = clientWith('unix:///tmp/tgi-fleet-no-such-docker.sock');
  const driver = new DockerDriver({ docker, fleet: 'unreachable' });
  const d = new DeploymentSupervisor(testSpec({ model: 'm' }), { driver, records: new RestartRecords() });
  const changes: StateChange[] = [];
  d.on('state', (change: StateChange) => changes.push(change));
  d.start();
  while (d.state === 'pending') await new Promise((r) => setTimeout(r, 20));
  d.detach();
  await driver.close();
  assert.equal(d.state, 'down');
  assert.equal(d.lastFailure, undefined);
  assert.equal(d.attempts, 0);
  assert.match(changes[0].detail ?? '', /^Docker is not reachable at unix:\/\/\/tmp\/tgi-fleet-no-such-docker\.sock \(connect ENOENT .*\) — start dockerd or set DOCKER_HOST; waiting for it to come back$/);
});
