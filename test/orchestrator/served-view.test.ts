// served.json between its one writer (ServedViewPublisher, in `up`) and a replica's FollowedTable, over
// a real state dir: deployments added, changed and removed, settings, and a damaged file.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { GatewaySettings, StateChange } from '../../gateway/types.ts';
import { DeploymentTable } from '../../orchestrator/deployment/table.ts';
import { FollowedTable, NoFleetToFollow } from '../../orchestrator/followed-table.ts';
import { log } from '../../orchestrator/log.ts';
import { ServedViewPublisher, servedViewPath } from '../../orchestrator/served-view.ts';
import { testSettings, testSpec } from '../gateway/fixture.ts';
import { StubDeployment } from '../helpers/served-deployment.ts';
import { waitFor } from '../helpers/wait.ts';

interface Logged { level: string; message: string }
const capture = (lines: Logged[]) => {
  const at = (level: string) => (a: object | string, b?: string) => void lines.push({ level, message: typeof a === 'string' ? a : (b ?? '') });
  return { ...log, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as typeof log;
};

describe('served view', () => {
  let stateDir: string;
  let table: DeploymentTable<StubDeployment>;
  let settings: GatewaySettings;
  let publisher: ServedViewPublisher;
  let followed: FollowedTable;
  const lines: Logged[] = [];

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'served-view-'));
    table = new DeploymentTable<StubDeployment>();
    const spec = { ...testSpec({ model: 'hermes' }), env: { HF_TOKEN: 'hf_secret_of_the_server' } };
    table.add(new StubDeployment(spec, { upstream: { host: '127.0.0.1', port: 1234, url: 'http://127.0.0.1:1234' } }).becomeReady());
    table.synced = true;
    settings = testSettings();
    publisher = new ServedViewPublisher(stateDir, { table, settings: () => settings, gpus: () => [], fleet: 'test' }, (m) => assert.fail(m));
    publisher.start();
    await waitFor('served.json', () => FollowedTable.open(stateDir, capture(lines)).then((f) => (followed = f)));
    followed.start();
  });

  after(async () => {
    followed?.stop();
    await publisher?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  test('a state dir without served.json is NoFleetToFollow, saying to run up first', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'served-view-empty-'));
    await assert.rejects(FollowedTable.open(empty, log), (error: Error) => error instanceof NoFleetToFollow && /no fleet in .*: .*served\.json is missing\); run `npm run up -- --state-dir .*` first/.test(error.message));
    await rm(empty, { recursive: true });
  });

  test('the follower has the deployment, its upstream and the settings, but never the server environment', async () => {
    const d = followed.table.get('hermes/gpu0')!;
    assert.equal(d.state, 'ready');
    assert.equal(d.upstream?.url, 'http://127.0.0.1:1234');
    assert.equal(followed.table.synced, true);
    assert.deepEqual(followed.settings, settings);
    assert.equal('env' in d.spec, false);
    assert.equal('image' in d.spec, false);
  });

  test('admission is local: admit() counts only while ready, release() ends it', () => {
    const d = followed.table.get('hermes/gpu0')!;
    assert.equal(d.admit(), true);
    assert.equal(d.inFlight, 1);
    d.release();
    assert.equal(d.inFlight, 0);
  });

  test("state changes arrive as the table's 'state' events; additions and removals as 'added'/'removed'", async () => {
    const changes: StateChange[] = [];
    followed.table.on('state', (c: StateChange) => changes.push(c));
    table.get('hermes/gpu0')!.setState('down');
    await waitFor("the follower's 'state' event", () => changes.some((c) => c.key === 'hermes/gpu0' && c.from === 'ready' && c.to === 'down'));
    assert.equal(followed.table.get('hermes/gpu0')!.admit(), false, 'not ready: nothing admitted');

    const added: string[] = [];
    const removed: string[] = [];
    followed.table.on('added', (d: { key: string }) => added.push(d.key));
    followed.table.on('removed', (d: { key: string }) => removed.push(d.key));
    const llava = new StubDeployment(testSpec({ model: 'llava', gpuLabel: 'gpu1' })).becomeReady();
    table.add(llava);
    await waitFor('llava to be added', () => added.includes('llava/gpu1'));
    assert.deepEqual(followed.table.models(), ['hermes', 'llava']);
    table.remove(llava);
    await waitFor('llava to be removed', () => removed.includes('llava/gpu1'));
  });

  test('a settings change reaches the follower once published (a reload schedules it)', async () => {
    settings = testSettings({ metricsAuth: false });
    publisher.schedule();
    await waitFor('the new settings', () => followed.settings.metricsAuth === false);
  });

  test('a damaged served.json keeps the last view and is said once; the next good one applies', async () => {
    await writeFile(servedViewPath(stateDir), '{"version": 1, "deployments": [');
    await waitFor('the error line', () => lines.some((l) => l.level === 'error' && /served\.json is not valid JSON/.test(l.message)));
    await followed.refresh();
    await followed.refresh();
    assert.equal(lines.filter((l) => /not valid JSON/.test(l.message)).length, 1);
    assert.ok(followed.table.get('hermes/gpu0'), 'the last known routes stay');
    table.get('hermes/gpu0')!.setState('loading');
    await waitFor('the next good view', () => followed.table.get('hermes/gpu0')!.state === 'loading');
  });
});
