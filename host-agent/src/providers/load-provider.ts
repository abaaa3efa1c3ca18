import { FakeProvider } from './fake.js';
import { KubernetesProvider } from './kubernetes.js';
import { PodmanProvider } from './podman/provider.js';
import { ProviderError, type ConsoleProvider, type ProviderContext, type ProviderFactory } from './provider.js';
import { SystemdProvider } from './systemd.js';

const BUILT_IN: Record<string, (ctx: ProviderContext) => ConsoleProvider> = {
  podman: (ctx) => new PodmanProvider(ctx),
  // Ironic's name for the docker/podman CLI provider.
  container: (ctx) => new PodmanProvider(ctx),
  systemd: (ctx) => new SystemdProvider(ctx),
  kubernetes: (ctx) => new KubernetesProvider(ctx),
  fake: () => new FakeProvider(),
};

function isProvider(p: unknown): p is ConsoleProvider {
  const o = p as Partial<ConsoleProvider> | null;
  return (
    !!o &&
    typeof o.start === 'function' &&
    typeof o.stop === 'function' &&
    typeof o.stopAll === 'function' &&
    typeof o.list === 'function'
  );
}

/**
 * A built-in provider, or an external one: any other name is imported as an npm package whose default export (or
 * `createProvider` export) is a ProviderFactory.
 */
export async function loadProvider(ctx: ProviderContext): Promise<ConsoleProvider> {
  const name = ctx.config.container_provider;
  const builtIn = BUILT_IN[name];
  if (builtIn) return builtIn(ctx);
  let mod: { default?: unknown; createProvider?: unknown };
  try {
    mod = (await import(name)) as typeof mod;
  } catch (err) {
    throw new ProviderError(
      name,
      undefined,
      `container_provider: not a built-in provider (${Object.keys(BUILT_IN).join(', ')}) and the package cannot be imported: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  const factory = (typeof mod.createProvider === 'function' ? mod.createProvider : mod.default) as
    | ProviderFactory
    | undefined;
  if (typeof factory !== 'function')
    throw new ProviderError(
      name,
      undefined,
      'the package exports neither a default provider factory nor createProvider',
    );
  const provider = await factory(ctx);
  if (!isProvider(provider))
    throw new ProviderError(name, undefined, 'the factory did not return an object with start, stop, stopAll and list');
  return provider;
}
