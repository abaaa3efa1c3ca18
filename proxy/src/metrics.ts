import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** The proxy's Prometheus metrics, on a registry of its own so several proxies can live in one process (tests). */
export class ProxyMetrics {
  readonly registry = new Registry();
  readonly sessionsActive = new Gauge({
    name: 'bmc_proxy_sessions_active',
    help: 'Websocket console sessions now open',
    registers: [this.registry],
  });
  readonly sessionsTotal = new Counter({
    name: 'bmc_proxy_sessions_total',
    help: 'Console sessions started',
    registers: [this.registry],
  });
  readonly sessionCloses = new Counter({
    name: 'bmc_proxy_session_closes_total',
    help: 'Console sessions ended, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly bytes = new Counter({
    name: 'bmc_proxy_bytes_total',
    help: 'Bytes relayed; direction is to_console (browser input) or to_browser (framebuffer)',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly inputDropped = new Counter({
    name: 'bmc_proxy_input_dropped_total',
    help: 'Viewer input messages the proxy did not forward, by reason (view-only, read-only, not-holder)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly viewers = new Gauge({
    name: 'bmc_proxy_viewers',
    help: 'Live viewer sessions per console',
    labelNames: ['node'] as const,
    registers: [this.registry],
  });
  readonly rejections = new Counter({
    name: 'bmc_proxy_rejections_total',
    help: 'Websocket upgrades refused, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly bmcLogins: Gauge = new Gauge({
    name: 'bmc_proxy_bmc_logins',
    help: 'BMC web sessions the proxy holds for direct consoles (logged in, logging in, or kept for a returning viewer)',
    registers: [this.registry],
    collect: () => {
      this.bmcLogins.set(this.countBmcLogins());
    },
  });

  /** `countBmcLogins` is read at each scrape (the direct consoles' BmcSessions). */
  constructor(private readonly countBmcLogins: () => number = () => 0) {
    // Standard names (process_*, nodejs_*), so stock dashboards and alerts work; the job label tells programs apart.
    collectDefaultMetrics({ register: this.registry });
  }
}
