/**
 * The kubernetes provider against a FAKE kubectl (fixtures/fake-kubectl.mjs: records calls, keeps objects in a
 * file, makes Pods Ready at once); no API server can run here. The RFB greeting comes from a local stub server.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CONTAINER_CA_PATH } from '../src/ca-mount.js';
import type { ConsoleAgent } from '../src/console-agent.js';
import type { KubernetesProvider } from '../src/providers/kubernetes.js';
import { appInfo, makeAgent, tokenOf } from './support/agent-fixture.js';

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
  const calls = (): Call[] => readFileSync(join(dir, 'calls.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Call);
  const applied = (): Obj[] => calls().filter((c) => c.argv[0] === 'apply').flatMap((c) => parseAllDocuments(c.stdin).map((d) => d.toJS() as Obj));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-k8s-'));
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

  it('applies a Secret, a hardened Pod and a NetworkPolicy; the password is only in the Secret', async () => {
    const node = '7c1f0e52-1111-4222-8333-444455556666';
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n');
    const info = appInfo({ verify_ca: ca });
    const started = await agent.start({ node, appInfo: info });
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
      metadata: { name: `bmc-console-${node}`, labels: { 'bmc-console.io/node': node, 'bmc-console.io/agent': agent.config.agent_host } },
      spec: {
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true },
        containers: [{ securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } }, readinessProbe: { tcpSocket: { port: 'vnc' } }, resources: { limits: { memory: '1536Mi' } } }],
      },
    });
    const spec = pod.spec as { volumes: { name: string; emptyDir?: { medium: string; sizeLimit: string } }[]; containers: { volumeMounts: { mountPath: string; readOnly?: boolean }[] }[] };
    expect(spec.volumes).toContainEqual({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '512Mi' } });
    expect(spec.containers[0]!.volumeMounts).toContainEqual({ name: 'bmc-ca', mountPath: '/run/bmc-console/ca', readOnly: true });
    expect(policy).toMatchObject({ spec: { ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'bmc-console-proxy' } } }] }] } });
    // No secret in any kubectl argv (the manifest went on stdin).
    const argvText = calls().map((c) => c.argv.join(' ')).join('\n');
    expect(argvText).not.toContain('Ä€');
    expect(argvText).not.toContain(stringData.VNC_PASSWORD);
    expect(argvText).not.toContain(tokenOf(started.url));

    // Token state lives on the Secret: another agent (replica) with empty local state verifies it.
    const { agent: replica } = await makeAgent({ ...agent.config, state_dir: mkdtempSync(join(tmpdir(), 'agent-replica-')) });
    const v = await replica.verify(node, tokenOf(started.url));
    expect(v).toMatchObject({ ok: true, node, target: { host: '127.0.0.1', readOnly: false, vncPassword: stringData.VNC_PASSWORD } });
    const second = await agent.url(node);
    expect((await replica.verify(node, tokenOf(second.url))).ok).toBe(true);
    expect(await replica.verify('other-node', tokenOf(second.url))).toEqual({ ok: false, reason: 'wrong-node' });

    await agent.stop(node);
    const deletes = calls().filter((c) => c.argv[0] === 'delete').map((c) => c.argv.slice(0, 6).join(' '));
    expect(deletes).toEqual([`delete -n consoles networkpolicy/bmc-console-${node} pod/bmc-console-${node} secret/bmc-console-${node}`]);
    expect(await replica.verify(node, tokenOf(second.url))).toEqual({ ok: false, reason: 'unknown' });
  }, SLOW);

  it('passes kvm_release_after to the pod as KVM_RELEASE_AFTER', async () => {
    const { agent: releasing } = await makeAgent({ ...agent.config, kvm_release_after: 0, state_dir: mkdtempSync(join(tmpdir(), 'agent-release-')) });
    const docs = (releasing.provider as KubernetesProvider).render({ node: 'kvm-release', app: 'redfish-graphical', appInfo: appInfo(), readOnly: false });
    const pod = docs.find((d) => d.kind === 'Pod') as { spec: { containers: { env: { name: string; value?: string }[] }[] } };
    expect(pod.spec.containers[0]!.env).toContainEqual({ name: 'KVM_RELEASE_AFTER', value: '0' });
  });

  it('stop-all deletes by a selector scoped to this agent', async () => {
    await agent.start({ node: 'k8s-a', app: 'fake', appInfo: {} });
    expect((await agent.provider.list()).map((r) => r.node)).toEqual(['k8s-a']);
    await agent.stopAll();
    const sel = `app.kubernetes.io/name=bmc-console,app.kubernetes.io/component=console,bmc-console.io/agent=${agent.config.agent_host}`;
    const deletes = calls().filter((c) => c.argv[0] === 'delete' && c.argv.includes('-l'));
    expect(deletes.map((c) => c.argv.slice(0, 6).join(' '))).toEqual([`delete -n consoles networkpolicy,pod,secret -l ${sel}`]);
    expect(await agent.provider.list()).toEqual([]);
  }, SLOW);

  it('names node and cause when the pod fails', async () => {
    const { agent: bad } = await makeAgent({ ...agent.config, kubectl_executable: '/nonexistent/kubectl' });
    const err = (await bad.start({ node: 'k8s-b', appInfo: appInfo() }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^node k8s-b: kubernetes provider: cannot run \/nonexistent\/kubectl/);
  });
});
