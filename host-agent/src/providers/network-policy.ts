/**
 * The console's default-deny NetworkPolicy (kubernetes provider): egress only to its BMC's addresses (and to the
 * cluster DNS when the BMC is named by host name), ingress only to port 5900 and, with kubernetes_proxy_selector,
 * only from the proxy's pods. A console renders the BMC's pages, so it must reach nothing else.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** Where a console's BMC is: its IP addresses (resolved at start for a host name) and whether the console needs DNS. */
export interface BmcNetwork {
  ips: string[];
  dns: boolean;
}

type Labels = Record<string, string>;

/** The BMC's host from APP_INFO.address (https://host[:port], http://..., or a bare host); undefined when there is none. */
function bmcHost(appInfo: Record<string, unknown>): string | undefined {
  const address = appInfo.address;
  if (typeof address !== 'string' || !address.trim()) return undefined;
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `https://${address}`;
  try {
    const host = new URL(text).hostname.replace(/^\[|\]$/g, '');
    return host || undefined;
  } catch {
    return undefined;
  }
}

/** The BMC's network as far as it is known without DNS: an IP literal is complete, a host name still needs resolving. */
export function bmcNetworkOf(appInfo: Record<string, unknown>): BmcNetwork {
  const host = bmcHost(appInfo);
  if (!host) return { ips: [], dns: false };
  return isIP(host) ? { ips: [host], dns: false } : { ips: [], dns: true };
}

/**
 * Resolves the BMC's host name once, when the console starts: the policy allows the addresses it had then (a BMC
 * that moves needs its console restarted). The console resolves the name itself too, so it keeps DNS.
 */
export async function resolveBmcNetwork(
  appInfo: Record<string, unknown>,
  resolve: (host: string) => Promise<string[]> = resolveAll,
): Promise<BmcNetwork> {
  const known = bmcNetworkOf(appInfo);
  const host = bmcHost(appInfo);
  if (!host || !known.dns) return known;
  let ips: string[];
  try {
    ips = await resolve(host);
  } catch (err) {
    throw new Error(
      `cannot resolve the BMC host name ${host} for the console's NetworkPolicy: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  if (!ips.length)
    throw new Error(`cannot resolve the BMC host name ${host} for the console's NetworkPolicy: no address`);
  return { ips: [...new Set(ips)], dns: true };
}

async function resolveAll(host: string): Promise<string[]> {
  return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
}

/** The kube-dns/CoreDNS pods every cluster labels k8s-app=kube-dns in kube-system. */
const CLUSTER_DNS = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
  podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
};

export function consoleNetworkPolicy(o: {
  name: string;
  namespace: string;
  labels: Labels;
  proxySelector?: Labels;
  bmc: BmcNetwork;
}): Record<string, unknown> {
  const egress: Record<string, unknown>[] = [];
  if (o.bmc.ips.length)
    egress.push({ to: o.bmc.ips.map((ip) => ({ ipBlock: { cidr: `${ip}/${isIP(ip) === 6 ? 128 : 32}` } })) });
  if (o.bmc.dns)
    egress.push({
      to: [CLUSTER_DNS],
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    });
  const vnc = { ports: [{ protocol: 'TCP', port: 5900 }] };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: o.name, namespace: o.namespace, labels: { ...o.labels } },
    spec: {
      podSelector: { matchLabels: { ...o.labels } },
      policyTypes: ['Ingress', 'Egress'],
      // Without a proxy selector the agent cannot name the proxy's pods: port 5900 stays open to the cluster.
      ingress: [o.proxySelector ? { from: [{ podSelector: { matchLabels: { ...o.proxySelector } } }], ...vnc } : vnc],
      egress,
    },
  };
}
