/**
 * Consoles as Kubernetes objects (a Secret holding APP_INFO/VNC_PASSWORD, a Pod, a default-deny NetworkPolicy: out
 * only to the BMC, in only to 5900 from the proxy), applied with `kubectl apply -f -` (manifest on stdin, never
 * argv). Start waits for the Pod's Ready condition, then for the RFB greeting (Ironic stopped at Ready). Console
 * state (target, token hashes, expiry) lives on the console's Secret, so agent and proxy replicas need no local state (see KubernetesTokenStore).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { parseAllDocuments, stringify } from 'yaml';
import { consoleEnvironment } from '@bmc-console/common/console-env';
import { secretFileVariable, SECRET_VARIABLE_OF } from '@bmc-console/common/contracts/secret-names';
import { scrubSecrets } from '@bmc-console/common/log';
import { packageRoot } from '@bmc-console/common/package-root';
import { CONTAINER_CA_PATH, planCaMount } from '../ca-mount.js';
import { runCommand, type CommandResult } from '../run-command.js';
import { KubernetesTokenStore } from '../tokens/kubernetes-token-store.js';
import type { TokenStore } from '../tokens/token-store.js';
import { consoleName, K8S_AGENT_LABEL, K8S_NODE_LABEL } from './console-names.js';
import { bmcNetworkOf, consoleNetworkPolicy, resolveBmcNetwork, type BmcNetwork } from './network-policy.js';
import { BaseProvider, secretsOf } from './base-provider.js';
import {
  ProviderError,
  type ConsoleEndpoint,
  type ConsoleProvider,
  type ConsoleRecord,
  type ProviderContext,
  type StartRequest,
  type TokenStoreContext,
} from './provider.js';

type Manifest = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
};

/** podman sizes (512m, 1g) to Kubernetes quantities (512Mi, 1Gi). */
export function k8sQuantity(size: string): string {
  const m = /^(\d+)([kmg]?)$/i.exec(size);
  if (!m) return size;
  const unit = { '': '', k: 'Ki', m: 'Mi', g: 'Gi' }[m[2]!.toLowerCase()] ?? '';
  return `${m[1]}${unit}`;
}

function defaultTemplatePath(): string {
  return join(packageRoot(import.meta.url), 'src', 'providers', 'templates', 'console-pod.yaml');
}

/** Replaces `{{ var }}` in every string of a parsed document; a string that is exactly one placeholder takes its value. */
function substitute(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === 'string')
    return value.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (all, k: string) => (k in vars ? vars[k]! : all));
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars));
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [substitute(k, vars) as string, substitute(v, vars)]),
    );
  return value;
}

export class KubernetesProvider extends BaseProvider {
  private readonly template: string;
  /** Resolves a BMC host name for the NetworkPolicy (replaceable in tests: no DNS there). */
  resolveHost: ((host: string) => Promise<string[]>) | undefined;

  constructor(ctx: ProviderContext) {
    super('kubernetes', ctx);
    const path = ctx.config.kubernetes_container_template ?? defaultTemplatePath();
    try {
      this.template = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ProviderError(
        this.name,
        undefined,
        `cannot read kubernetes_container_template ${path}: ${(err as Error).message}`,
      );
    }
    this.render({ node: 'template-check', app: 'fake', appInfo: {}, readOnly: false }); // fail at start-up, not per console
  }

  /** Tokens on the console's own Secret, so any agent or proxy replica verifies them without local state. */
  override createTokenStore(ctx: TokenStoreContext): TokenStore {
    return new KubernetesTokenStore(this, ctx.tokenTimeout);
  }

  kubectl(args: string[], input?: string): Promise<CommandResult> {
    return runCommand(this.config.kubectl_executable, args, input !== undefined ? { input } : {});
  }

  /** The manifests for one console, in apply order; `bmc`: the BMC's resolved addresses (start), else IP literals only. */
  render(req: StartRequest, bmc: BmcNetwork = bmcNetworkOf(req.appInfo)): Manifest[] {
    const c = this.config;
    const { appInfo, mount } = planCaMount(req.node, req.appInfo);
    const env = consoleEnvironment({
      app: req.app,
      appInfo,
      readOnly: req.readOnly,
      ...(req.vncPassword ? { vncPassword: req.vncPassword } : {}),
    });
    const vars: Record<string, string> = {
      name: consoleName(req.node).toLowerCase(),
      namespace: c.kubernetes_namespace,
      node: req.node,
      agent: c.agent_host,
      image: c.console_image,
      app: req.app,
      app_info: env[SECRET_VARIABLE_OF.appInfo]!,
      read_only: env.READ_ONLY!,
      vnc_password: req.vncPassword ?? '',
      shm_size: k8sQuantity(c.container_shm_size),
      memory: k8sQuantity(c.container_memory),
      cpus: c.container_cpus,
      display_width: String(c.display_width ?? ''),
      display_height: String(c.display_height ?? ''),
      kvm_release_after: String(c.kvm_release_after ?? ''),
    };
    const docs = parseAllDocuments(this.template)
      .map((d) => {
        if (d.errors.length)
          throw new ProviderError(
            this.name,
            req.node,
            `kubernetes_container_template is not valid YAML: ${d.errors[0]!.message}`,
          );
        return substitute(d.toJS(), vars) as Manifest;
      })
      .filter((d) => d && typeof d === 'object');
    const pod = docs.find((d) => d.kind === 'Pod') as (Manifest & Pod) | undefined;
    const secret = docs.find((d) => d.kind === 'Secret');
    if (!pod?.metadata?.name || !pod.metadata.namespace)
      throw new ProviderError(
        this.name,
        req.node,
        'kubernetes_container_template needs a Pod with metadata.name and metadata.namespace',
      );
    if (secret && !req.vncPassword) {
      // No password: no key, so neither the secret volume's item nor the variable naming its file.
      const key = SECRET_VARIABLE_OF.vncPassword;
      delete (secret.stringData as Record<string, string> | undefined)?.[key];
      for (const v of pod.spec?.volumes ?? [])
        if (v.secret?.items) v.secret.items = v.secret.items.filter((i) => i.key !== key);
      for (const ctr of pod.spec?.containers ?? [])
        if (ctr.env) ctr.env = ctr.env.filter((e) => e.name !== secretFileVariable(key));
    }
    if (mount && secret && pod.spec) {
      // The CA bundle travels in the console's Secret and is mounted read-only where APP_INFO now points.
      (secret.stringData as Record<string, string>)['bmc-ca.pem'] = readFileSync(mount.hostPath, 'utf8');
      const dir = CONTAINER_CA_PATH.slice(0, CONTAINER_CA_PATH.lastIndexOf('/'));
      pod.spec.volumes = [
        ...(pod.spec.volumes ?? []),
        {
          name: 'bmc-ca',
          secret: { secretName: secret.metadata!.name!, items: [{ key: 'bmc-ca.pem', path: 'bmc-ca.pem' }] },
        },
      ];
      for (const ctr of pod.spec.containers)
        ctr.volumeMounts = [...(ctr.volumeMounts ?? []), { name: 'bmc-ca', mountPath: dir, readOnly: true }];
    }
    // A template with a NetworkPolicy of its own keeps it; otherwise the console gets the default-deny one.
    if (!docs.some((d) => d.kind === 'NetworkPolicy')) {
      docs.push(
        consoleNetworkPolicy({
          name: pod.metadata.name,
          namespace: pod.metadata.namespace,
          labels: { ...pod.metadata.labels },
          ...(c.kubernetes_proxy_selector ? { proxySelector: c.kubernetes_proxy_selector } : {}),
          bmc,
        }) as Manifest,
      );
    }
    return docs;
  }

  /** Labels of the template without the node label: they select every console of this agent. */
  selector(): { namespace: string; selector: string } {
    const pod = this.render({ node: 'selector', app: 'fake', appInfo: {}, readOnly: false }).find(
      (d) => d.kind === 'Pod',
    )!;
    const labels = Object.entries(pod.metadata?.labels ?? {}).filter(([k]) => k !== K8S_NODE_LABEL);
    if (!labels.some(([k]) => k === K8S_AGENT_LABEL))
      throw new ProviderError(
        this.name,
        undefined,
        `kubernetes_container_template: the Pod needs the label ${K8S_AGENT_LABEL}: "{{ agent }}" to scope stop-all`,
      );
    return { namespace: pod.metadata!.namespace!, selector: labels.map(([k, v]) => `${k}=${v}`).join(',') };
  }

  async start(req: StartRequest): Promise<ConsoleEndpoint> {
    const secrets = secretsOf(req);
    const fail = this.failer(req.node, secrets);
    try {
      const docs = this.render(req, await resolveBmcNetwork(req.appInfo, this.resolveHost));
      const manifest = docs.map((d) => stringify(d)).join('---\n');
      const applied = await this.kubectl(['apply', '-f', '-'], manifest);
      if (applied.code !== 0) throw fail(`kubectl apply failed (exit ${applied.code}): ${applied.stderr.trim()}`);
      const pod = docs.find((d) => d.kind === 'Pod')!;
      const ready = await this.waitForReady(pod.metadata!.name!, pod.metadata!.namespace!, req.node);
      const endpoint = this.endpointOf(ready, req.node);
      return await this.awaitGreeting(endpoint, fail);
    } catch (err) {
      await this.stop(req.node).catch(() => undefined);
      if (err instanceof ProviderError) throw new ProviderError(this.name, req.node, scrubSecrets(err.reason, secrets));
      throw fail((err as Error).message);
    }
  }

  private async waitForReady(name: string, namespace: string, node: string): Promise<Pod> {
    const deadline = Date.now() + this.config.kubernetes_pod_timeout * 1000;
    let last = 'no status yet';
    for (;;) {
      const r = await this.kubectl(['get', 'pod', name, '-n', namespace, '-o', 'json']);
      if (r.code === 0) {
        const pod = JSON.parse(r.stdout) as Pod;
        const phase = pod.status?.phase ?? 'Unknown';
        if (phase === 'Failed' || phase === 'Succeeded')
          throw new ProviderError(this.name, node, `pod ${namespace}/${name} ended (${phase}) before it was ready`);
        if (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return pod;
        last = `phase ${phase}`;
      } else last = r.stderr.trim();
      if (Date.now() > deadline)
        throw new ProviderError(
          this.name,
          node,
          `pod ${namespace}/${name} not ready within kubernetes_pod_timeout=${this.config.kubernetes_pod_timeout}s (${last})`,
        );
      await new Promise((res) => setTimeout(res, 1000));
    }
  }

  endpointOf(pod: Pod, node: string): ConsoleEndpoint {
    const port = pod.spec?.containers
      .flatMap((c) => c.ports ?? [])
      .find((p) => p.name === 'vnc' || p.containerPort === 5900);
    const host = this.config.kubernetes_address === 'hostIP' ? pod.status?.hostIP : pod.status?.podIP;
    const number = this.config.kubernetes_address === 'hostIP' ? port?.hostPort : port?.containerPort;
    if (!host || !number)
      throw new ProviderError(
        this.name,
        node,
        `pod has no ${this.config.kubernetes_address}${this.config.kubernetes_address === 'hostIP' ? ' or no hostPort on its vnc port' : ''}`,
      );
    return { host, port: number };
  }

  /** One kubectl call per stop: every object of the console by kind/name, in reverse apply order. */
  async stop(node: string): Promise<void> {
    const docs = this.render({ node, app: 'fake', appInfo: {}, readOnly: false }).reverse();
    const namespace = docs[0]!.metadata!.namespace!;
    const r = await this.kubectl([
      'delete',
      '-n',
      namespace,
      ...docs.map((d) => `${d.kind!.toLowerCase()}/${d.metadata!.name!}`),
      '--ignore-not-found=true',
      '--wait=false',
    ]);
    if (r.code !== 0) throw new ProviderError(this.name, node, `kubectl delete failed: ${r.stderr.trim()}`);
  }

  async stopAll(): Promise<void> {
    const { namespace, selector } = this.selector();
    const kinds = [
      ...new Set(
        this.render({ node: 'selector', app: 'fake', appInfo: {}, readOnly: false }).map((d) => d.kind!.toLowerCase()),
      ),
    ].reverse();
    const r = await this.kubectl([
      'delete',
      '-n',
      namespace,
      kinds.join(','),
      '-l',
      selector,
      '--ignore-not-found=true',
      '--wait=false',
    ]);
    if (r.code !== 0)
      throw new ProviderError(
        this.name,
        undefined,
        `kubectl delete ${kinds.join(',')} -l ${selector} failed: ${r.stderr.trim()}`,
      );
  }

  async list(): Promise<ConsoleRecord[]> {
    const { namespace, selector } = this.selector();
    const r = await this.kubectl(['get', 'pods', '-n', namespace, '-l', selector, '-o', 'json']);
    if (r.code !== 0) throw new ProviderError(this.name, undefined, `kubectl get pods failed: ${r.stderr.trim()}`);
    const items = (JSON.parse(r.stdout) as { items?: Pod[] }).items ?? [];
    return items.flatMap((p): ConsoleRecord[] => {
      const node = p.metadata?.labels?.[K8S_NODE_LABEL];
      if (!node) return [];
      const running = p.status?.phase === 'Running' || p.status?.phase === 'Pending';
      let endpoint: ConsoleEndpoint | undefined;
      try {
        endpoint = this.endpointOf(p, node);
      } catch {
        endpoint = undefined;
      }
      return [{ node, name: p.metadata?.name ?? '', running, ...(endpoint ? { endpoint } : {}) }];
    });
  }
}

export default (ctx: ProviderContext): ConsoleProvider => new KubernetesProvider(ctx);
