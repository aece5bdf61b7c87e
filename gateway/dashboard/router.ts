import express from 'express';
import type { GatewayOptions, RequestRecord } from '../types.ts';
import { dashboardAssets } from './assets.ts';
import { EventLog, recordFleetEvents } from './event-log.ts';
import { KeyUsageTally } from './key-usage.ts';
import { overview } from './overview.ts';
import { RequestStats } from './stats.ts';

export interface Dashboard {
  /** GET / and GET /ui/*: the page and its assets, served without the token (they hold no data). */
  publicRouter: express.Router;
  /**
   * GET /api/overview, /api/series, /api/events: the page's data. Its paths include /api, so mount it
   * at the root, behind the gateway's bearer auth.
   */
  apiRouter: express.Router;
  /** Stops listening to the table and the gateway's events. */
  close(): void;
}

export function createDashboard(options: GatewayOptions): Dashboard {
  const stats = new RequestStats();
  const eventLog = new EventLog();
  const keyUsage = new KeyUsageTally();
  const onRequest = (record: RequestRecord) => {
    stats.record(record);
    keyUsage.record(record);
  };
  const onRemoved = (d: { key: string }) => stats.forget(d.key);
  options.events.on('request', onRequest);
  options.table.on('removed', onRemoved);
  const stopLog = recordFleetEvents(eventLog, options.table, options.events);

  const apiRouter = express.Router();
  apiRouter.use('/api', (_req, res, next) => {
    res.set('cache-control', 'no-store');
    next();
  });
  apiRouter.get('/api/overview', (_req, res) => {
    res.json(overview(options, stats, keyUsage));
  });
  apiRouter.get('/api/series', (_req, res) => {
    res.json(stats.series(options.table.all().map((d) => d.key)));
  });
  apiRouter.get('/api/events', (req, res) => {
    const after = Number(req.query.after ?? 0);
    res.json({ entries: eventLog.after(Number.isFinite(after) ? after : 0) });
  });

  return {
    publicRouter: dashboardAssets(options.log),
    apiRouter,
    close() {
      options.events.off('request', onRequest);
      options.table.off('removed', onRemoved);
      stopLog();
    },
  };
}
