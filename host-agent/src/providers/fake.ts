import type { ConsoleEndpoint, ConsoleProvider, ConsoleRecord, ProviderContext, StartRequest } from './provider.js';

/** Starts nothing; returns a fixed endpoint (TEST-NET-1, like Ironic's) for tests of the layers above. */
export class FakeProvider implements ConsoleProvider {
  readonly name = 'fake';
  private readonly running = new Map<string, StartRequest>();

  constructor(readonly endpoint: ConsoleEndpoint = { host: '192.0.2.1', port: 5900 }) {}

  async start(req: StartRequest): Promise<ConsoleEndpoint> {
    this.running.set(req.node, req);
    return { ...this.endpoint };
  }
  async stop(node: string): Promise<void> {
    this.running.delete(node);
  }
  async stopAll(): Promise<void> {
    this.running.clear();
  }
  async list(): Promise<ConsoleRecord[]> {
    return [...this.running.keys()].map((node) => ({
      node,
      name: `fake-${node}`,
      running: true,
      endpoint: { ...this.endpoint },
    }));
  }
  /** For tests: what the last start of a node received. */
  lastRequest(node: string): StartRequest | undefined {
    return this.running.get(node);
  }
}

/** @public The provider's factory: load-provider.ts imports it by name (container_provider). */
export default (_ctx: ProviderContext): ConsoleProvider => new FakeProvider();
