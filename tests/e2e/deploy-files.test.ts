/**
 * deploy/: the systemd units and the Kubernetes kustomize base.
 *  - systemd: `systemd-analyze verify` on both units (and `security --offline` on the proxy's), `systemd-sysusers
 *    --dry-run` on the users file, and the units' paths against the agent's and proxy's own defaults and bins.
 *  - Kubernetes: no API server can run here, so every manifest is checked in TypeScript (parses, known kinds and
 *    apiVersions, required fields, references between objects, the ConfigMaps' configs through the programs' own
 *    parsers), the Role's verbs are derived from the kubectl calls the agent's kubernetes provider really makes
 *    (against the fake kubectl of host-agent/test), and `kubectl kustomize` builds the base when kubectl is there.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '@bmc-console/host-agent/config';
import { parseProxyConfig, readConfigFile } from '@bmc-console/proxy/config';
import { makeAgent, appInfo, tokenOf } from '@bmc-console/host-agent/testing/agent-fixture';
import type { KubernetesProvider } from '@bmc-console/host-agent/providers/kubernetes';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const systemdDir = join(root, 'deploy', 'systemd');
const k8sDir = join(root, 'deploy', 'kubernetes');
const UNIT_NODE = '/opt/bmc-console/node/bin/node';
const APP = '/opt/bmc-console/app';

async function runCmd(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(cmd, args, { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : -1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? String(e.code),
    };
  }
}

const which = async (cmd: string) => (await runCmd('sh', ['-c', `command -v ${cmd}`])).stdout.trim() || undefined;

/** A unit file as key -> values (keys may repeat), per section. */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = s[1]!;
      out[section] ??= {};
      continue;
    }
    const i = line.indexOf('=');
    (out[section]![line.slice(0, i)] ??= []).push(line.slice(i + 1));
  }
  return out;
}

const one = (unit: Record<string, Record<string, string[]>>, section: string, key: string) =>
  unit[section]?.[key]?.at(-1);

describe('deploy/systemd', () => {
  const units = ['bmc-console-agent.service', 'bmc-console-proxy.service'];
  const agent = parseUnit(readFileSync(join(systemdDir, units[0]!), 'utf8'));
  const proxy = parseUnit(readFileSync(join(systemdDir, units[1]!), 'utf8'));

  it('systemd-analyze verify accepts both units without a warning', async (ctx) => {
    const analyze = await which('systemd-analyze');
    if (!analyze) ctx.skip('systemd-analyze is not installed (Debian: systemd)');
    // verify checks that ExecStart's program exists: the units' node where setup.sh (as root) linked it, else a
    // copy of the units naming this test's node, all else unchanged.
    let dir = systemdDir;
    if (!existsSync(UNIT_NODE)) {
      dir = tempDir('deploy-units-');
      for (const u of units)
        writeFileSync(join(dir, u), readFileSync(join(systemdDir, u), 'utf8').replaceAll(UNIT_NODE, process.execPath));
    }
    const r = await runCmd(analyze!, ['verify', '--man=no', ...units.map((u) => join(dir, u))]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('the proxy unit is locked down (systemd-analyze security: exposure 2.0 or less)', async (ctx) => {
    const analyze = await which('systemd-analyze');
    if (!analyze) ctx.skip('systemd-analyze is not installed (Debian: systemd)');
    const r = await runCmd(analyze!, [
      'security',
      '--offline=yes',
      '--no-pager',
      join(systemdDir, 'bmc-console-proxy.service'),
    ]);
    const level = /Overall exposure level for bmc-console-proxy\.service: ([\d.]+)/.exec(r.stdout);
    expect(level, r.stdout + r.stderr).not.toBeNull();
    expect(Number(level![1])).toBeLessThanOrEqual(2.0);
  });

  it('systemd-sysusers creates the group and user the units name', async (ctx) => {
    const sysusers = await which('systemd-sysusers');
    if (!sysusers) ctx.skip('systemd-sysusers is not installed (Debian: systemd)');
    const r = await runCmd(sysusers!, [
      '--dry-run',
      `--root=${tempDir('deploy-sysroot-')}`,
      join(systemdDir, 'bmc-console.sysusers.conf'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const made = r.stdout + r.stderr;
    for (const name of [one(agent, 'Service', 'Group'), one(proxy, 'Service', 'User'), one(proxy, 'Service', 'Group')])
      expect(made).toContain(`'${name}'`);
    const sysusers_ = readFileSync(join(systemdDir, 'bmc-console.sysusers.conf'), 'utf8');
    expect(sysusers_).toMatch(
      new RegExp(`^m ${one(proxy, 'Service', 'User')} ${one(agent, 'Service', 'Group')}$`, 'm'),
    );
  });

  it("uses the agent's paths: runtime dir 0750 for the socket, state dir, config; the proxy is in the agent's group", () => {
    expect(one(agent, 'Service', 'RuntimeDirectory')).toBe('bmc-console-agent');
    expect(one(agent, 'Service', 'RuntimeDirectoryMode')).toBe('0750');
    expect(one(agent, 'Service', 'StateDirectory')).toBe('bmc-console-agent');
    expect(one(agent, 'Service', 'User')).toBe('root'); // the defaults below are root's (common/src/agent-paths.ts)
    expect(proxy.Service!.SupplementaryGroups).toContain(one(agent, 'Service', 'Group'));
    expect(one(proxy, 'Unit', 'After')).toContain('bmc-console-agent.service');

    const agentCfg = loadConfig({ file: join(systemdDir, 'agent.yaml.example'), env: {} });
    expect(agentCfg.state_dir).toBe('/var/lib/bmc-console-agent');
    expect(agentCfg.api_listen).toBe('unix:/run/bmc-console-agent/agent.sock');
    const proxyCfg = parseProxyConfig(readConfigFile(join(systemdDir, 'proxy.yaml.example')));
    expect(proxyCfg.agentUrl).toBe(agentCfg.api_listen);
  });

  it("runs each program's bin, with the node flags of its shebang, and the config file the docs name", () => {
    for (const [unit, pkg, config] of [
      [agent, 'host-agent', 'agent.yaml'],
      [proxy, 'proxy', 'proxy.yaml'],
    ] as const) {
      const argv = one(unit, 'Service', 'ExecStart')!.split(/\s+/);
      const manifest = JSON.parse(readFileSync(join(root, pkg, 'package.json'), 'utf8')) as {
        bin: Record<string, string>;
        bmcConsole?: { nodeFlags?: string[] };
      };
      const nodeFlags = manifest.bmcConsole?.nodeFlags ?? [];
      expect(argv[0]).toBe(UNIT_NODE);
      expect(argv.slice(1, 1 + nodeFlags.length)).toEqual(nodeFlags);
      expect(Object.values(manifest.bin).map((b) => join(APP, pkg, b))).toContain(argv[1 + nodeFlags.length]);
      expect(argv.slice(-2)).toEqual(['--config', `/etc/bmc-console/${config}`]);
    }
  });
});

type Obj = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
};
type PodSpec = {
  serviceAccountName?: string;
  securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type?: string } };
  containers: {
    name: string;
    image?: string;
    ports?: { name?: string }[];
    volumeMounts?: { name: string; mountPath: string }[];
    securityContext?: Record<string, unknown>;
  }[];
  volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string; defaultMode?: number } }[];
};
type Deployment = Obj & {
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
};

const API_VERSIONS: Record<string, string> = {
  Namespace: 'v1',
  ServiceAccount: 'v1',
  ConfigMap: 'v1',
  Service: 'v1',
  Deployment: 'apps/v1',
  Role: 'rbac.authorization.k8s.io/v1',
  RoleBinding: 'rbac.authorization.k8s.io/v1',
  NetworkPolicy: 'networking.k8s.io/v1',
};
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const subset = (small: Record<string, string>, big: Record<string, string> | undefined) =>
  Object.entries(small).every(([k, v]) => big?.[k] === v);

describe('deploy/kubernetes', () => {
  const kustomization = parseAllDocuments(readFileSync(join(k8sDir, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as {
    kind: string;
    apiVersion: string;
    namespace: string;
    resources: string[];
  };
  const objects: Obj[] = [];
  for (const file of kustomization.resources) {
    for (const d of parseAllDocuments(readFileSync(join(k8sDir, file), 'utf8'))) {
      expect(d.errors, `${file}: ${d.errors[0]?.message}`).toEqual([]);
      objects.push(d.toJS() as Obj);
    }
  }
  const find = <T extends Obj = Obj>(kind: string, name?: string) =>
    objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name)) as T[];
  const deployment = (component: string) =>
    find<Deployment>('Deployment').find((d) => d.metadata?.labels?.['app.kubernetes.io/component'] === component)!;
  const configText = (name: string, key: string) =>
    (find('ConfigMap', name)[0] as Obj & { data: Record<string, string> }).data[key]!;

  it('kustomization.yaml lists every manifest of the directory, and each exists', () => {
    expect(kustomization).toMatchObject({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      namespace: 'bmc-console',
    });
    const files = readdirSync(k8sDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it('every object has a known kind and apiVersion, a valid name, and no namespace of its own but the base one', () => {
    for (const o of objects) {
      expect(API_VERSIONS[o.kind ?? ''], `${o.kind}`).toBe(o.apiVersion);
      expect(o.metadata?.name).toMatch(NAME);
      if (o.metadata?.namespace !== undefined) expect(o.metadata.namespace).toBe(kustomization.namespace);
    }
    expect(find('Namespace').map((n) => n.metadata?.name)).toEqual([kustomization.namespace]);
  });

  it('Deployments: selectors match their pods, references resolve, containers are non-root without privilege escalation', () => {
    expect(
      find('Deployment')
        .map((d) => d.metadata?.name)
        .sort(),
    ).toEqual(['bmc-console-agent', 'bmc-console-proxy']);
    for (const d of find<Deployment>('Deployment')) {
      const pod = d.spec.template.spec;
      expect(subset(d.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
      expect(find('ServiceAccount', pod.serviceAccountName)).toHaveLength(1);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      for (const v of pod.volumes ?? []) if (v.configMap) expect(find('ConfigMap', v.configMap.name)).toHaveLength(1);
      for (const c of pod.containers) {
        expect(c.name).toMatch(NAME);
        expect(c.image).toBeTruthy();
        expect(c.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        for (const m of c.volumeMounts ?? []) expect(pod.volumes?.map((v) => v.name)).toContain(m.name);
      }
    }
    for (const s of find<Obj & { spec: { selector: Record<string, string>; ports: { targetPort: string }[] } }>(
      'Service',
    )) {
      const target = find<Deployment>('Deployment').find((d) =>
        subset(s.spec.selector, d.spec.template.metadata.labels),
      );
      expect(target, `Service ${s.metadata?.name} selects no Deployment`).toBeDefined();
      const portNames = target!.spec.template.spec.containers.flatMap((c) => c.ports?.map((p) => p.name) ?? []);
      for (const p of s.spec.ports) expect(portNames).toContain(p.targetPort);
    }
  });

  it('the ConfigMaps hold configs the agent and proxy accept, and they fit together', () => {
    const dir = tempDir('deploy-k8s-');
    writeFileSync(join(dir, 'agent.yaml'), configText('bmc-console-agent', 'agent.yaml'));
    writeFileSync(join(dir, 'proxy.yaml'), configText('bmc-console-proxy', 'proxy.yaml'));
    const agentCfg = loadConfig({ file: join(dir, 'agent.yaml'), env: {} });
    const proxyCfg = parseProxyConfig(readConfigFile(join(dir, 'proxy.yaml')));
    expect(agentCfg.container_provider).toBe('kubernetes');
    expect(agentCfg.kubernetes_namespace).toBe(kustomization.namespace);
    // The proxy reaches the agent through its Service, by a Host name the agent accepts, with the shared key.
    const agentUrl = new URL(proxyCfg.agentUrl);
    expect(agentCfg.api_allowed_hosts).toContain(agentUrl.hostname);
    expect(agentUrl.hostname.split('.')[0]).toBe(find('Service', 'bmc-console-agent')[0]!.metadata!.name);
    expect(agentCfg.api_listen).toBe(`tcp://0.0.0.0:${agentUrl.port}`);
    expect(proxyCfg.agentApiKeyFile).toBe(agentCfg.api_key_file);
    for (const [component, file] of [
      ['agent', agentCfg.api_key_file],
      ['proxy', proxyCfg.agentApiKeyFile],
    ] as const) {
      const pod = deployment(component).spec.template.spec;
      const mount = pod.containers[0]!.volumeMounts!.find((m) => m.mountPath === dirname(file!))!;
      const volume = pod.volumes!.find((v) => v.name === mount.name)!;
      // 0440 with the pod's fsGroup: the agent refuses a key file that other users may read.
      expect(volume.secret).toEqual({ secretName: 'bmc-console-agent-api-key', defaultMode: 0o440 });
    }
    // VNC of a console is open to the proxy and to the agent's own greeting check, both chosen by this selector.
    for (const component of ['agent', 'proxy'])
      expect(subset(agentCfg.kubernetes_proxy_selector!, deployment(component).spec.template.metadata.labels)).toBe(
        true,
      );
  });

  it('the default-deny NetworkPolicy selects the console pods the agent makes, and opens nothing', async () => {
    const [policy] = find<
      Obj & {
        spec: {
          podSelector: { matchLabels: Record<string, string> };
          policyTypes: string[];
          ingress?: unknown;
          egress?: unknown;
        };
      }
    >('NetworkPolicy');
    expect(policy!.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    expect(policy!.spec.ingress).toBeUndefined();
    expect(policy!.spec.egress).toBeUndefined();
    const dir = tempDir('deploy-k8s-');
    writeFileSync(join(dir, 'agent.yaml'), configText('bmc-console-agent', 'agent.yaml'));
    const { agent } = await makeAgent({ ...loadConfig({ file: join(dir, 'agent.yaml'), env: {} }), state_dir: dir });
    const consolePod = (agent.provider as KubernetesProvider)
      .render({ node: 'n1', app: 'redfish-graphical', appInfo: appInfo(), readOnly: false })
      .find((d) => d.kind === 'Pod')!;
    expect(subset(policy!.spec.podSelector.matchLabels, consolePod.metadata!.labels)).toBe(true);
    // ... and nothing else of the base.
    for (const d of find<Deployment>('Deployment'))
      expect(subset(policy!.spec.podSelector.matchLabels, d.spec.template.metadata.labels)).toBe(false);
  });

  it('kubectl kustomize builds the base into namespaced objects', async (ctx) => {
    const kubectl = await which('kubectl');
    if (!kubectl) ctx.skip('kubectl is not installed (the TypeScript checks above cover the manifests)');
    const r = await runCmd(kubectl!, ['kustomize', k8sDir]);
    expect(r.code, r.stderr).toBe(0);
    const built = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
    expect(built.map((o) => `${o.kind}/${o.metadata?.name}`).sort()).toEqual(
      objects.map((o) => `${o.kind}/${o.metadata?.name}`).sort(),
    );
    for (const o of built)
      if (o.kind !== 'Namespace')
        expect(o.metadata?.namespace, `${o.kind}/${o.metadata?.name}`).toBe(kustomization.namespace);
    expect(JSON.stringify(built)).toContain('"image":"bmc-console-agent:0.1.0"');
  });
});

/** The API verbs a kubectl invocation needs, as "group/resource" -> verbs. */
function verbsOf(argv: string[], stdin: string): [string, string][] {
  const RESOURCES: Record<string, string> = {
    pod: '/pods',
    pods: '/pods',
    secret: '/secrets',
    secrets: '/secrets',
    networkpolicy: 'networking.k8s.io/networkpolicies',
    networkpolicies: 'networking.k8s.io/networkpolicies',
  };
  const res = (kind: string) => RESOURCES[kind.toLowerCase()] ?? `unknown/${kind}`;
  const pos: string[] = [];
  let selector = false;
  for (let i = 0; i < argv.length; i++) {
    if (['-n', '-o', '-f'].includes(argv[i]!)) i++;
    else if (argv[i] === '-l') (selector = true), i++;
    else if (!argv[i]!.startsWith('-')) pos.push(argv[i]!);
  }
  const [verb, ...rest] = pos;
  switch (verb) {
    case 'apply': // client-side apply: read the object, then create it or patch it
      return parseAllDocuments(stdin).flatMap((d) =>
        ['get', 'create', 'patch'].map((v): [string, string] => [res((d.toJS() as Obj).kind!), v]),
      );
    case 'get':
      return [[res(rest[0]!), rest[1] && !selector ? 'get' : 'list']];
    case 'annotate': // reads the object, then patches its annotations
      return [
        [res(rest[0]!), 'get'],
        [res(rest[0]!), 'patch'],
      ];
    case 'delete':
      if (selector)
        return rest[0]!.split(',').flatMap((k): [string, string][] => [
          [res(k), 'list'],
          [res(k), 'delete'],
        ]);
      return rest.map((r): [string, string] => [res(r.split('/')[0]!), 'delete']);
    default:
      throw new Error(`kubectl ${argv.join(' ')}: no RBAC mapping for this call; add one and review the Role`);
  }
}

describe('deploy/kubernetes RBAC', () => {
  let dir: string;
  let server: Server;
  beforeAll(async () => {
    dir = tempDir('deploy-rbac-');
    server = createServer((s) => s.end('RFB 003.008\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    process.env.FAKE_KUBECTL_DIR = dir;
    process.env.FAKE_KUBECTL_VNC_PORT = String((server.address() as { port: number }).port);
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("grants exactly the verbs the kubernetes provider's kubectl calls need, in its namespace", async () => {
    const { agent } = await makeAgent({
      container_provider: 'kubernetes',
      kubectl_executable: join(root, 'host-agent', 'test', 'fixtures', 'fake-kubectl.mjs'),
      kubernetes_namespace: 'bmc-console',
      kubernetes_proxy_selector: { 'bmc-console.io/vnc-client': 'true' },
    });
    // Every kind of call: start (apply, get pod, annotate), url, verify (list secrets), stop, reconcile, stop-all.
    const a = '5a0c0b9e-0000-4000-8000-00000000000a';
    const b = '5a0c0b9e-0000-4000-8000-00000000000b';
    const started = await agent.start({ node: a, appInfo: appInfo() });
    await agent.url(a);
    expect((await agent.verify(a, tokenOf(started.url))).ok).toBe(true);
    await agent.stop(a);
    await agent.start({ node: b, appInfo: appInfo() });
    await agent.reconcile();
    await agent.stopAll();

    const calls = readFileSync(join(dir, 'calls.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { argv: string[]; stdin: string });
    const needed = new Map<string, Set<string>>();
    for (const c of calls)
      for (const [r, v] of verbsOf(c.argv, c.stdin)) needed.set(r, (needed.get(r) ?? new Set()).add(v));
    // A Role grants only in its namespace: every call stays in the agent's.
    for (const c of calls) {
      if (c.argv[0] === 'apply')
        for (const d of parseAllDocuments(c.stdin)) expect((d.toJS() as Obj).metadata?.namespace).toBe('bmc-console');
      else expect(c.argv[c.argv.indexOf('-n') + 1], c.argv.join(' ')).toBe('bmc-console');
    }

    const roleDoc = parseAllDocuments(readFileSync(join(k8sDir, 'agent-rbac.yaml'), 'utf8'))
      .map((d) => d.toJS() as Obj)
      .find((o) => o.kind === 'Role') as Obj & {
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    const granted = new Map<string, Set<string>>();
    for (const rule of roleDoc.rules)
      for (const g of rule.apiGroups)
        for (const r of rule.resources)
          granted.set(`${g}/${r}`, new Set([...(granted.get(`${g}/${r}`) ?? []), ...rule.verbs]));
    const sorted = (m: Map<string, Set<string>>) =>
      Object.fromEntries([...m].map(([k, v]) => [k, [...v].sort()]).sort());
    expect(sorted(granted)).toEqual(sorted(needed));
  }, 240_000);
});
