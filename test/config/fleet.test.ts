import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkFleetName } from '../../orchestrator/config/validate.ts';
import { invalid, issueAt, valid, yaml } from './support.ts';

// gateway.fleet names whose containers and locks a file's `up` owns; `up --fleet` overrides it.

const simulated = ['defaults:', '  runtime: simulator', 'models:', '  - name: a', '    model_id: org/model', '    gpus: [0]'];

test('a file without gateway.fleet runs the default fleet', () => {
  assert.equal(valid(yaml(...simulated)).config.fleet, 'default');
});

test('gateway.fleet names the fleet, ${VAR} expanded', () => {
  assert.equal(valid(yaml('gateway:', '  fleet: team-a', ...simulated)).config.fleet, 'team-a');
  assert.equal(valid(yaml('gateway:', '  fleet: "${FLEET:-prod}"', ...simulated), { env: {} }).config.fleet, 'prod');
});

test('an invalid gateway.fleet is located, says why and suggests a valid name', () => {
  const issue = issueAt(invalid(yaml('gateway:', '  fleet: Team_A', ...simulated)), 'gateway.fleet');
  assert.deepEqual([issue.line, issue.column], [2, 10]);
  assert.match(issue.message, /`Team_A` cannot name a fleet: it has uppercase letters/);
  assert.match(issue.hint!, /1–32 of a-z, 0-9 and '-'.*e\.g\. `team-a`/);
});

test('fleet names: lowercase letters, digits and dashes, at most 32, not starting with a dash', () => {
  for (const name of ['default', 'a', 't-1x9', '0', 'x'.repeat(32)]) assert.equal(checkFleetName(name), undefined, name);
  assert.match(checkFleetName('')!.message, /it is empty/);
  assert.match(checkFleetName('x'.repeat(33))!.message, /33 characters long \(at most 32\)/);
  assert.match(checkFleetName('-prod')!.message, /must start with a lowercase letter or a digit/);
  assert.match(checkFleetName('my.fleet')!.message, /it contains "\."/);
  assert.match(invalid(yaml('gateway:', '  fleet: 7', ...simulated))[0].message, /expected a fleet name/);
});
