import express from 'express';
import type { GatewayOptions } from '../types.ts';
import { dashboardAssets } from './assets.ts';
import { EventLog, recordFleetEvents } from './event-log.ts';
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
  const onRequest = stats.record.bind(stats);
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
    res.json(overview(options, stats));
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
