/**
 * The address a console container reaches this machine's emulator at: one of the machine's own non-loopback IPv4
 * addresses. Consoles run without the host's loopback (slirp4netns without allow_host_loopback), so an emulator on
 * 127.0.0.1 is out of their reach; one on the interface address is reached like any BMC on the network.
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

/** Interfaces of container runtimes and VMs: their addresses may vanish with the last container, so they come last. */
const BRIDGE_RE = /^(cni-|podman|docker|br-|virbr|veth|cali|flannel|cilium|kube|tun|tap|wg)/;

/** The interface of the IPv4 default route, from /proc/net/route (undefined when there is none or no procfs). */
function defaultRouteInterface(): string | undefined {
  try {
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const [iface, destination, , , , , , mask] = line.trim().split(/\s+/);
      if (iface && destination === '00000000' && mask === '00000000') return iface;
    }
  } catch {
    // no procfs: fall back to the interface order below
  }
  return undefined;
}

/**
 * This machine's own non-loopback addresses, best first: the default route's interface, then others, bridges last.
 * IPv4 only unless `ipv6` (then global IPv6 addresses follow; link-local ones never).
 */
export function hostAddresses(o: { ipv6?: boolean } = {}): string[] {
  const preferred = defaultRouteInterface();
  const found: { address: string; rank: number }[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.internal || a.address.startsWith('169.254.') || /^fe80:/i.test(a.address)) continue;
      if (a.family !== 'IPv4' && !(o.ipv6 && a.family === 'IPv6')) continue;
      found.push({
        address: a.address,
        rank: (a.family === 'IPv4' ? 0 : 3) + (name === preferred ? 0 : BRIDGE_RE.test(name) ? 2 : 1),
      });
    }
  }
  return found.sort((x, y) => x.rank - y.rank).map((f) => f.address);
}

/**
 * The address the emulator listens on for consoles: BMC_EMULATOR_HOST when set, otherwise the first of
 * hostAddresses(). Throws a readable error when the machine has no such address.
 */
export function hostAddress(): string {
  const fromEnv = process.env.BMC_EMULATOR_HOST?.trim();
  if (fromEnv) return fromEnv;
  const first = hostAddresses()[0];
  if (!first) {
    throw new Error(
      'host address: this machine has no non-loopback IPv4 address; consoles reach the BMC emulator only on one ' +
        "(they do not get the host's loopback). Bring an interface up or set BMC_EMULATOR_HOST to an address of this machine.",
    );
  }
  return first;
}
