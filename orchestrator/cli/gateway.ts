import { EventEmitter } from 'node:events';
import { createGateway, type Gateway } from '../../gateway/server.ts';
import { CredentialsWatch } from '../credentials-watch.ts';
import { FollowedTable, NoFleetToFollow } from '../followed-table.ts';
import { KeyUsageRecorder } from '../key-usage.ts';
import { KeyStore, keysFileOf } from '../keys.ts';
import { log } from '../log.ts';
import { runningFleets } from '../ownership.ts';
import { TokenStore } from '../token.ts';
import { shellWord, stateDirOf } from './options.ts';
import { handleSignals, type Stoppable } from './up.ts';

// `npm run gateway -- --state-dir DIR`: one more gateway in front of the fleet whose `up` uses DIR,
// for a load balancer to spread clients over. It serves `up`'s token, API keys and deployments
// (served.json) and follows their changes; it owns nothing: it starts, stops and adopts no server,
// takes no lock, and never makes or replaces the token.

export interface GatewayReplicaOptions {
  stateDir?: string;
  port?: number;
  host?: string;
}

export async function gateway(options: GatewayReplicaOptions): Promise<void> {
  const stateDir = stateDirOf(options.stateDir);
  let ready!: (replica: GatewayReplica | undefined) => void;
  handleSignals(new Promise((resolve) => (ready = resolve)));
  let replica: GatewayReplica;
  try {
    replica = await GatewayReplica.start({ ...options, stateDir });
  } catch (error) {
    console.error(`gateway refused: ${error instanceof Error ? error.message : error}`);
    ready(undefined);
    process.exit(1);
  }
  ready(replica);
  const routes = replica.table.all().map((d) => `/${d.key}`);
  log.info(
    `gateway replica of fleet "${replica.name}" listening on http://${replica.host}:${replica.port}: serving ${routes.length} route(s) of up (pid ${replica.followed.upPid}) from ${stateDir} ` +
      `with its token (${replica.tokens.hint}) and API keys; it follows them and starts, stops or adopts nothing`,
  );
}

class GatewayReplica implements Stoppable {
  readonly usesDocker = false;
  private credentials?: CredentialsWatch;
  private usage?: KeyUsageRecorder;

  private constructor(
    readonly followed: FollowedTable,
    readonly tokens: TokenStore,
    private readonly gateway: Gateway,
    readonly host: string,
    readonly port: number,
  ) {}

  static async start(options: { stateDir: string; port?: number; host?: string }): Promise<GatewayReplica> {
    const { stateDir } = options;
    const tokens = await TokenStore.existing(stateDir);
    if (!tokens) throw new NoFleetToFollow(`no fleet in ${stateDir}: it has no token (only \`up\` makes one); run \`npm run up -- --state-dir ${shellWord(stateDir)}\` first`);
    const followed = await FollowedTable.open(stateDir, log);
    const keys = await KeyStore.open(keysFileOf(followed.settings, stateDir), (message) => log.error(message));
    const events = new EventEmitter();
    events.setMaxListeners(50);
    const gateway = createGateway({ table: followed.table, settings: () => followed.settings, tokens, keys, gpus: () => followed.gpus, events, log });
    const wanted = options.port ?? followed.settings.port;
    const host = options.host ?? followed.settings.host;
    const port = await gateway.listen(wanted, host).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') throw error;
      const holder = (await runningFleets()).find((h) => h.port === wanted);
      const by = holder ? `by the gateway of fleet "${holder.fleet}" (pid ${holder.pid})` : options.port === undefined ? "(it is the fleet's gateway.port)" : `by another program (\`ss -ltnp 'sport = :${wanted}'\` shows which)`;
      throw new Error(`port ${wanted} is in use ${by}; pass a free one with --port, e.g. \`npm run gateway -- --state-dir ${shellWord(stateDir)} --port ${wanted === 65535 ? wanted - 1 : wanted + 1}\``);
    });
    const replica = new GatewayReplica(followed, tokens, gateway, host, port);
    followed.start();
    const credentials = new CredentialsWatch(stateDir, tokens, keys, (message) => log.error(message));
    replica.credentials = credentials;
    followed.onSettings = async (settings) => {
      if (await credentials.useKeysFile(keysFileOf(settings, stateDir))) log.info(`API keys are now those of ${keys.file} (gateway.keys_file of the fleet's models.yaml)`);
    };
    // Its own usage file, so `up`'s is never written by two processes; `keys list` adds them up.
    replica.usage = new KeyUsageRecorder(stateDir, events, (message) => log.warn(message), `gateway-${port}`);
    replica.usage.start();
    return replica;
  }

  get table() {
    return this.followed.table;
  }

  get settings() {
    return this.followed.settings;
  }

  get name(): string {
    return this.followed.fleet;
  }

  async shutdown(): Promise<void> {
    await this.gateway.close(this.settings.drainTimeoutMs);
    this.credentials?.close();
    this.followed.stop();
    await this.usage?.stop();
  }

  /** It runs no server. */
  killLocalServers(): number {
    return 0;
  }

  async reload(reason: string): Promise<void> {
    await this.followed.refresh();
    log.info(`${reason}: read ${this.followed.file} again (${this.table.all().length} deployment(s))`);
  }
}
