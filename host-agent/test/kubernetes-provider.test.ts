/**
 * The kubernetes provider against a FAKE kubectl (fixtures/fake-kubectl.mjs: records calls, keeps objects in a
 * file, makes Pods Ready at once); no API server can run here. The RFB greeting comes from a local stub server.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CONTAINER_CA_PATH } from '../src/ca-mount.js';
import type { ConsoleAgent } from '../src/console-agent.js';
import type { KubernetesProvider } from '../src/providers/kubernetes.js';
import { appInfo, makeAgent, tokenOf } from './support/agent-fixture.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

interface Call {
  argv: string[];
  stdin: string;
}
/** Each fake kubectl call is a node process; a busy machine makes that slow (a bound, not a timed assertion). */
const SLOW = 240_000;
type Obj = { kind: string; metadata: { name: string; labels: Record<string, string> }; [k: string]: unknown };

describe('kubernetes provider (fake kubectl)', () => {
  let dir: string;
  let server: Server;
  let agent: ConsoleAgent;
  const calls = (): Call[] =>
    readFileSync(join(dir, 'calls.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Call);
  const applied = (): Obj[] =>
    calls()
      .filter((c) => c.argv[0] === 'apply')
      .flatMap((c) => parseAllDocuments(c.stdin).map((d) => d.toJS() as Obj));

  beforeAll(async () => {
    dir = tempDir('agent-k8s-');
    server = createServer((s) => s.end('RFB 003.008\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    process.env.FAKE_KUBECTL_DIR = dir;
    process.env.FAKE_KUBECTL_VNC_PORT = String((server.address() as { port: number }).port);
    ({ agent } = await makeAgent({
      container_provider: 'kubernetes',
      kubectl_executable: join(import.meta.dirname, 'fixtures', 'fake-kubectl.mjs'),
      kubernetes_namespace: 'consoles',
      kubernetes_proxy_selector: { 'app.kubernetes.io/name': 'bmc-console-proxy' },
    }));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it(
    'applies a Secret, a hardened Pod and a NetworkPolicy; the password is only in the Secret',
    async () => {
      const node = '7c1f0e52-1111-4222-8333-444455556666';
      const ca = join(dir, 'ca.pem');
      writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n');
      const info = appInfo({ verify_ca: ca });
      const started = await agent.start({ node, appInfo: info, record: true });
      expect(started).toMatchObject({ node, host: '127.0.0.1', port: Number(process.env.FAKE_KUBECTL_VNC_PORT) });

      const docs = applied();
      expect(docs.map((d) => d.kind)).toEqual(['Secret', 'Pod', 'NetworkPolicy']);
      const [secret, pod, policy] = docs as [Obj, Obj, Obj];
      const stringData = secret.stringData as Record<string, string>;
      expect(JSON.parse(stringData.APP_INFO!)).toEqual({ ...info, verify_ca: CONTAINER_CA_PATH });
      expect(stringData['bmc-ca.pem']).toBe(readFileSync(ca, 'utf8'));
      expect(stringData.VNC_PASSWORD).toMatch(/^[\x21-\x7e]{8}$/);
      const podText = JSON.stringify(pod);
      expect(podText).not.toContain('Ä€');
      expect(podText).not.toContain(stringData.VNC_PASSWORD);
      expect(pod).toMatchObject({
        metadata: {
          name: `bmc-console-${node}`,
          labels: { 'bmc-console.io/node': node, 'bmc-console.io/agent': agent.config.agent_host },
        },
        spec: {
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true },
          containers: [
            {
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              readinessProbe: { tcpSocket: { port: 'vnc' } },
              resources: { limits: { memory: '1536Mi' } },
            },
          ],
        },
      });
      const spec = pod.spec as {
        volumes: { name: string; emptyDir?: { medium: string; sizeLimit: string } }[];
        containers: { volumeMounts: { mountPath: string; readOnly?: boolean }[] }[];
      };
      expect(spec.volumes).toContainEqual({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '512Mi' } });
      expect(spec.containers[0]!.volumeMounts).toContainEqual({
        name: 'bmc-ca',
        mountPath: '/run/bmc-console/ca',
        readOnly: true,
      });
      // The Secret reaches the console as files, named by *_FILE variables; no variable holds or references a secret.
      expect(spec.containers[0]!.volumeMounts).toContainEqual({
        name: 'credentials',
        mountPath: '/run/secrets/bmc-console',
        readOnly: true,
      });
      expect(spec.volumes).toContainEqual({
        name: 'credentials',
        secret: {
          secretName: `bmc-console-${node}`,
          defaultMode: 0o440,
          items: [
            { key: 'APP_INFO', path: 'app-info' },
            { key: 'VNC_PASSWORD', path: 'vnc-password' },
          ],
        },
      });
      const env = (pod.spec as { containers: { env: { name: string; value?: string; valueFrom?: unknown }[] }[] })
        .containers[0]!.env;
      expect(env).toContainEqual({ name: 'APP_INFO_FILE', value: '/run/secrets/bmc-console/app-info' });
      expect(env).toContainEqual({ name: 'VNC_PASSWORD_FILE', value: '/run/secrets/bmc-console/vnc-password' });
      expect(
        env.filter((e) => e.valueFrom !== undefined || e.name === 'APP_INFO' || e.name === 'VNC_PASSWORD'),
      ).toEqual([]);
      expect(pod).toMatchObject({
        spec: {
          securityContext: { fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{ securityContext: { capabilities: { drop: ['ALL'], add: ['SYS_CHROOT'] } } }],
        },
      });
      expect(policy).toMatchObject({
        spec: {
          ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'bmc-console-proxy' } } }] }],
        },
      });
      // No secret in any kubectl argv (the manifest went on stdin).
      const argvText = calls()
        .map((c) => c.argv.join(' '))
        .join('\n');
      expect(argvText).not.toContain('Ä€');
      expect(argvText).not.toContain(stringData.VNC_PASSWORD);
      expect(argvText).not.toContain(tokenOf(started.url));

      // Token state lives on the Secret: another agent (replica) with empty local state verifies it.
      const { agent: replica } = await makeAgent({ ...agent.config, state_dir: tempDir('agent-replica-') });
      const v = await replica.verify(node, tokenOf(started.url));
      expect(v).toMatchObject({
        ok: true,
        node,
        target: { host: '127.0.0.1', readOnly: false, vncPassword: stringData.VNC_PASSWORD, record: true },
        claims: { role: 'control', exclusive: false },
      });
      // A link's claims live on the Secret with its hash, so the replica answers them too.
      const second = await agent.url(node, { viewOnly: true, user: 'carol' });
      expect(await replica.verify(node, tokenOf(second.url))).toMatchObject({
        ok: true,
        target: { record: true },
        claims: { role: 'view', user: 'carol', exclusive: false },
      });
      expect(await replica.verify('other-node', tokenOf(second.url))).toEqual({ ok: false, reason: 'wrong-node' });

      await agent.stop(node);
      const deletes = calls()
        .filter((c) => c.argv[0] === 'delete')
        .map((c) => c.argv.slice(0, 6).join(' '));
      expect(deletes).toEqual([
        `delete -n consoles networkpolicy/bmc-console-${node} pod/bmc-console-${node} secret/bmc-console-${node}`,
      ]);
      expect(await replica.verify(node, tokenOf(second.url))).toEqual({ ok: false, reason: 'unknown' });
    },
    SLOW,
  );

  it('without a VNC password: no VNC_PASSWORD key, no item for it and no VNC_PASSWORD_FILE', () => {
    const docs = (agent.provider as KubernetesProvider).render({
      node: 'no-vnc',
      app: 'redfish-graphical',
      appInfo: appInfo(),
      readOnly: false,
    });
    const secret = docs.find((d) => d.kind === 'Secret') as { stringData: Record<string, string> };
    const pod = docs.find((d) => d.kind === 'Pod') as {
      spec: {
        volumes: { name: string; secret?: { items?: { key: string }[] } }[];
        containers: { env: { name: string }[] }[];
      };
    };
    expect(Object.keys(secret.stringData)).toEqual(['APP_INFO']);
    expect(pod.spec.volumes.find((v) => v.name === 'credentials')!.secret!.items!.map((i) => i.key)).toEqual([
      'APP_INFO',
    ]);
    expect(pod.spec.containers[0]!.env.map((e) => e.name)).not.toContain('VNC_PASSWORD_FILE');
    expect(pod.spec.containers[0]!.env.map((e) => e.name)).toContain('APP_INFO_FILE');
  });

  it('passes kvm_release_after to the pod as KVM_RELEASE_AFTER', async () => {
    const { agent: releasing } = await makeAgent({
      ...agent.config,
      kvm_release_after: 0,
      state_dir: tempDir('agent-release-'),
    });
    const docs = (releasing.provider as KubernetesProvider).render({
      node: 'kvm-release',
      app: 'redfish-graphical',
      appInfo: appInfo(),
      readOnly: false,
    });
    const pod = docs.find((d) => d.kind === 'Pod') as {
      spec: { containers: { env: { name: string; value?: string }[] }[] };
    };
    expect(pod.spec.containers[0]!.env).toContainEqual({ name: 'KVM_RELEASE_AFTER', value: '0' });
  });

  it(
    'stop-all deletes by a selector scoped to this agent',
    async () => {
      await agent.start({ node: 'k8s-a', app: 'fake', appInfo: {} });
      expect((await agent.provider.list()).map((r) => r.node)).toEqual(['k8s-a']);
      await agent.stopAll();
      const sel = `app.kubernetes.io/name=bmc-console,app.kubernetes.io/component=console,bmc-console.io/agent=${agent.config.agent_host}`;
      const deletes = calls().filter((c) => c.argv[0] === 'delete' && c.argv.includes('-l'));
      expect(deletes.map((c) => c.argv.slice(0, 6).join(' '))).toEqual([
        `delete -n consoles networkpolicy,pod,secret -l ${sel}`,
      ]);
      expect(await agent.provider.list()).toEqual([]);
    },
    SLOW,
  );

  it('names node and cause when the pod fails', async () => {
    const { agent: bad } = await makeAgent({ ...agent.config, kubectl_executable: '/nonexistent/kubectl' });
    const err = (await bad.start({ node: 'k8s-b', appInfo: appInfo() }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^node k8s-b: kubernetes provider: cannot run \/nonexistent\/kubectl/);
  });
});

describe('kubernetes provider NetworkPolicy (fake kubectl standing in for the API server)', () => {
  let dir: string;
  let server: Server;
  const applied = (): Obj[] =>
    readFileSync(join(dir, 'calls.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Call)
      .filter((c) => c.argv[0] === 'apply')
      .flatMap((c) => parseAllDocuments(c.stdin).map((d) => d.toJS() as Obj));
  const policyOf = (docs: Obj[]) =>
    docs.find((d) => d.kind === 'NetworkPolicy') as Obj & {
      spec: { policyTypes: string[]; ingress: unknown[]; egress: unknown[] };
    };
  const k8sAgent = (extra: Record<string, unknown> = {}) =>
    makeAgent({
      container_provider: 'kubernetes',
      kubectl_executable: join(import.meta.dirname, 'fixtures', 'fake-kubectl.mjs'),
      kubernetes_namespace: 'consoles',
      state_dir: tempDir('agent-k8s-np-'),
      ...extra,
    });

  beforeAll(async () => {
    dir = tempDir('agent-k8s-np-');
    server = createServer((s) => s.end('RFB 003.008\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    process.env.FAKE_KUBECTL_DIR = dir;
    process.env.FAKE_KUBECTL_VNC_PORT = String((server.address() as { port: number }).port);
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it(
    "default deny: egress only to the BMC's IP (/32, no DNS for an IP address), ingress only to 5900 from the proxy's pods",
    async () => {
      const { agent } = await k8sAgent({
        kubernetes_proxy_selector: { 'app.kubernetes.io/name': 'bmc-console-proxy' },
      });
      await agent.start({ node: 'np-ip', appInfo: appInfo({ address: 'https://10.20.30.40:8443' }) });
      const policy = policyOf(applied());
      expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(policy.spec.egress).toEqual([{ to: [{ ipBlock: { cidr: '10.20.30.40/32' } }] }]);
      expect(policy.spec.ingress).toEqual([
        {
          from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'bmc-console-proxy' } } }],
          ports: [{ protocol: 'TCP', port: 5900 }],
        },
      ]);
      expect(policy.spec).toMatchObject({ podSelector: { matchLabels: { 'bmc-console.io/node': 'np-ip' } } });
      await agent.stop('np-ip');
    },
    SLOW,
  );

  it(
    "a BMC host name is resolved at start into /32 and /128 blocks, and the console keeps DNS to kube-system's DNS pods",
    async () => {
      const { agent } = await k8sAgent();
      const asked: string[] = [];
      (agent.provider as KubernetesProvider).resolveHost = async (host) => (asked.push(host), ['10.1.2.3', 'fd00::7']);
      await agent.start({ node: 'np-name', appInfo: appInfo({ address: 'bmc-7.example.test' }) });
      expect(asked).toEqual(['bmc-7.example.test']);
      const policy = policyOf(applied().filter((d) => d.metadata.labels['bmc-console.io/node'] === 'np-name'));
      expect(policy.spec.egress).toEqual([
        { to: [{ ipBlock: { cidr: '10.1.2.3/32' } }, { ipBlock: { cidr: 'fd00::7/128' } }] },
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ]);
      // Without kubernetes_proxy_selector the agent cannot name the proxy's pods: only port 5900 is open.
      expect(policy.spec.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 5900 }] }]);
      await agent.stop('np-name');
    },
    SLOW,
  );

  it(
    'a BMC host name that does not resolve fails the start with a readable error and applies nothing',
    async () => {
      const { agent } = await k8sAgent();
      (agent.provider as KubernetesProvider).resolveHost = async () => {
        throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
      };
      const before = applied().length;
      const err = (await agent
        .start({ node: 'np-bad', appInfo: appInfo({ address: 'https://nowhere.example.test' }) })
        .catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(
        /^node np-bad: kubernetes provider: cannot resolve the BMC host name nowhere\.example\.test for the console's NetworkPolicy: ENOTFOUND/,
      );
      expect(applied().length).toBe(before);
    },
    SLOW,
  );
});
