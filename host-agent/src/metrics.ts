/**
 * The agent's Prometheus metrics, served as `GET /metrics` on its API listener: the same rules as every other route
 * (the unix socket's file mode, or `Authorization: Bearer <key>` on TCP, and the Host check), since the numbers tell
 * which nodes have consoles and how often tokens fail.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AgentError, type ConsoleAgent } from './console-agent.js';
import agentPackage from '../package.json' with { type: 'json' };

/** The agent's metrics, on a registry of its own so several agents can live in one process (tests). */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly r = [this.registry];
  readonly info = new Gauge({
    name: 'bmc_agent_info',
    help: 'Always 1; the labels say which agent version and provider run',
    labelNames: ['version', 'provider'] as const,
    registers: this.r,
  });
  readonly consoles: Gauge<'state'>;
  readonly starts = new Counter({
    name: 'bmc_agent_console_starts_total',
    help: 'Consoles started (the VNC server answered)',
    registers: this.r,
  });
  readonly startFailures = new Counter({
    name: 'bmc_agent_console_start_failures_total',
    help: 'Console starts that failed, by kind: invalid (bad request), provider (container or VNC never came up), internal',
    labelNames: ['kind'] as const,
    registers: this.r,
  });
  readonly stops = new Counter({
    name: 'bmc_agent_console_stops_total',
    help: 'Consoles ended, by cause: stop, stop-all, died (found dead by reconcile), unknown (a container the agent did not know)',
    labelNames: ['cause'] as const,
    registers: this.r,
  });
  readonly stopFailures = new Counter({
    name: 'bmc_agent_console_stop_failures_total',
    help: 'Stop and stop-all calls that failed',
    registers: this.r,
  });
  readonly tokensIssued = new Counter({
    name: 'bmc_agent_tokens_issued_total',
    help: 'Console tokens issued (start and url)',
    registers: this.r,
  });
  readonly tokensVerified = new Counter({
    name: 'bmc_agent_tokens_verified_total',
    help: 'Token checks that accepted the token',
    registers: this.r,
  });
  readonly tokensRefused = new Counter({
    name: 'bmc_agent_tokens_refused_total',
    help: 'Token checks that refused the token, by reason',
    labelNames: ['reason'] as const,
    registers: this.r,
  });
  readonly apiRequests = new Counter({
    name: 'bmc_agent_api_requests_total',
    help: 'API requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: this.r,
  });
  readonly apiDuration = new Histogram({
    name: 'bmc_agent_api_request_duration_seconds',
    help: 'Time to answer an API request, by method and route (a console start waits for its VNC server)',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: this.r,
  });

  constructor(agent: ConsoleAgent) {
    this.info.set({ version: agentPackage.version, provider: agent.provider.name }, 1);
    this.consoles = new Gauge({
      name: 'bmc_agent_consoles',
      help: 'Consoles in the agent state, by state (running, died)',
      labelNames: ['state'] as const,
      registers: this.r,
      // Read at scrape time: the state file is shared with CLI commands, which change it from other processes.
      async collect() {
        const counts = { running: 0, died: 0 };
        for (const c of await agent.status()) counts[c.status] += 1;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }
}

const byAgent = new WeakMap<ConsoleAgent, AgentMetrics>();

/**
 * The metrics of `agent`, counting its operations from the first call on. The agent's methods are wrapped here, on
 * this instance, so the agent core knows nothing of Prometheus and short CLI commands (nothing to scrape) pay nothing.
 */
function metricsFor(agent: ConsoleAgent): AgentMetrics {
  const existing = byAgent.get(agent);
  if (existing) return existing;
  const m = new AgentMetrics(agent);
  byAgent.set(agent, m);
  const kindOf = (err: unknown) => (err instanceof AgentError ? err.kind : 'internal');

  const start = agent.start.bind(agent);
  agent.start = async (input) => {
    try {
      const r = await start(input);
      m.starts.inc();
      return r;
    } catch (err) {
      m.startFailures.inc({ kind: kindOf(err) });
      throw err;
    }
  };
  const stop = agent.stop.bind(agent);
  agent.stop = async (node) => {
    try {
      const r = await stop(node);
      if (r.wasRunning) m.stops.inc({ cause: 'stop' });
      return r;
    } catch (err) {
      if (kindOf(err) !== 'invalid') m.stopFailures.inc();
      throw err;
    }
  };
  const stopAll = agent.stopAll.bind(agent);
  agent.stopAll = async () => {
    try {
      const r = await stopAll();
      m.stops.inc({ cause: 'stop-all' }, r.stopped.length);
      return r;
    } catch (err) {
      m.stopFailures.inc();
      throw err;
    }
  };
  const reconcile = agent.reconcile.bind(agent);
  agent.reconcile = async () => {
    const r = await reconcile();
    m.stops.inc({ cause: 'died' }, r.died.length);
    m.stops.inc({ cause: 'unknown' }, r.stoppedUnknown.length);
    return r;
  };
  const tokens = agent.tokens;
  const issue = tokens.issue.bind(tokens);
  tokens.issue = async (node, target, claims) => {
    const r = await issue(node, target, claims);
    m.tokensIssued.inc();
    return r;
  };
  const verify = tokens.verify.bind(tokens);
  tokens.verify = async (node, token) => {
    const r = await verify(node, token);
    if (r.ok) m.tokensVerified.inc();
    else m.tokensRefused.inc({ reason: r.reason });
    return r;
  };
  return m;
}

/**
 * Counts every request of `app` by route and status and serves `GET /metrics`. Register it before the routes:
 * Fastify attaches hooks to routes as they are added.
 */
export function registerMetrics(app: FastifyInstance, agent: ConsoleAgent): AgentMetrics {
  const m = metricsFor(agent);
  app.addHook('onResponse', async (req, reply) => {
    // The route's pattern, not the URL: node ids would make a series per node.
    const route = req.routeOptions.url ?? 'unmatched';
    m.apiRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    m.apiDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', async (_req, reply) => reply.type(m.registry.contentType).send(await m.registry.metrics()));
  return m;
}
