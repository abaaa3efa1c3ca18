import { isNotFound, isRedfishError } from '../redfish/error.js';
import { SYNTHESISED } from '../redfish/fixture-source.js';
import { memberIds, odataId, samePath, type RedfishResource, type RedfishSource } from '../redfish/source.js';

/** The Redfish resources discovery looks at; each may be missing (a capture without it, a 404, no credentials). */
export interface Facts {
  root?: RedfishResource;
  /** The host ComputerSystem (the first member of Systems). */
  system?: RedfishResource;
  systemPath?: string;
  /** The BMC that manages the host: see pickManager. */
  manager?: RedfishResource;
  /** Path of the manager; also set when the manager is only known from a link (Systems ManagedBy). */
  managerPath?: string;
  chassis?: RedfishResource;
  /** How the facts were gathered, for the evidence list ("no service root", "Managers built from files"). */
  notes: string[];
}

/** Managers read at most when choosing the BMC (Cisco lists adapters, NVIDIA lists HGX baseboards as managers). */
const MAX_MANAGERS = 6;

/** Reads a resource; undefined when it does not exist. Network, TLS and auth failures propagate. */
async function optional(source: RedfishSource, path: string): Promise<RedfishResource | undefined> {
  try {
    return await source.get(path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    // Some BMCs answer 400/405/501 for resources they do not implement.
    if (isRedfishError(err, 'http') && [400, 405, 501].includes(err.status ?? 0)) return undefined;
    throw err;
  }
}

/** Stage 1: the service root, readable without credentials. */
export async function readRoot(source: RedfishSource, facts: Facts): Promise<void> {
  facts.root = await optional(source, '');
  if (!facts.root) facts.notes.push(`no service root at ${source.rootPath}/`);
}

/**
 * Stage 2 (authenticated): the host system and the BMC manager. `systemId` (Ironic's system_id, a path or a bare
 * id) names the host when the BMC has several; the manager is then the one that system names.
 */
export async function readSystemAndManager(source: RedfishSource, facts: Facts, systemId?: string): Promise<void> {
  const systemsPath = linkOf(facts.root, 'Systems') ?? 'Systems';
  const systems = await optional(source, systemsPath);
  noteSynthesised(facts, systems, 'Systems');
  const members = memberIds(systems?.Members);
  if (systemId) {
    const wanted = systemId.includes('/')
      ? systemId
      : (members.find((m) => samePath(m.slice(m.replace(/\/+$/, '').lastIndexOf('/') + 1), systemId)) ??
        `${systemsPath.replace(/\/+$/, '')}/${systemId}`);
    const system = await optional(source, wanted);
    if (system) {
      facts.system = system;
      facts.systemPath = odataId(system) ?? wanted;
      facts.notes.push(`system ${facts.systemPath} named by system_id`);
    } else facts.notes.push(`system_id ${systemId} not found: using the first system`);
  }
  for (const path of facts.system ? [] : members.slice(0, 3)) {
    const system = await optional(source, path);
    if (system) {
      facts.system = system;
      facts.systemPath = odataId(system) ?? path;
      break;
    }
  }
  const managedBy = memberIds(linksOf(facts.system).ManagedBy);
  const collection = await optional(source, linkOf(facts.root, 'Managers') ?? 'Managers');
  noteSynthesised(facts, collection, 'Managers');
  const candidates = unique([...managedBy, ...memberIds(collection?.Members)]).slice(0, MAX_MANAGERS);
  const read: { path: string; manager: RedfishResource }[] = [];
  for (const path of candidates) {
    const manager = await optional(source, path);
    if (manager) read.push({ path: odataId(manager) ?? path, manager });
  }
  const picked = pickManager(read, managedBy, facts.systemPath);
  if (picked) {
    facts.manager = picked.manager;
    facts.managerPath = picked.path;
    if (read.length > 1) facts.notes.push(`picked manager ${picked.path} of ${read.length} (${picked.why})`);
  } else if (managedBy[0]) {
    facts.managerPath = managedBy[0];
    facts.notes.push(`manager ${managedBy[0]} (from the system's ManagedBy) could not be read`);
  }
}

/** Stage 3 (authenticated, only when needed): the chassis, whose Model is Supermicro's board name. */
export async function readChassis(source: RedfishSource, facts: Facts): Promise<void> {
  const linked = [...memberIds(linksOf(facts.manager).ManagerForChassis), ...memberIds(linksOf(facts.system).Chassis)];
  let paths = linked;
  if (paths.length === 0) {
    const collection = await optional(source, linkOf(facts.root, 'Chassis') ?? 'Chassis');
    paths = memberIds(collection?.Members);
  }
  for (const path of unique(paths).slice(0, 3)) {
    const chassis = await optional(source, path);
    if (chassis && Object.keys(chassis).length > 0) {
      facts.chassis = chassis;
      return;
    }
  }
}

/**
 * The BMC of the host, not `Members[0]` blindly: prefer the manager the system names in ManagedBy, then one of
 * ManagerType BMC that manages servers, then any BMC with a Model. Compares paths normalised (iLO's trailing
 * slashes) and never rebuilds URLs from `Id` (the DGX's HGX_BMC_0 has Id "bmc").
 */
function pickManager(
  read: { path: string; manager: RedfishResource }[],
  managedBy: string[],
  systemPath: string | undefined,
): { path: string; manager: RedfishResource; why: string } | undefined {
  let best: { path: string; manager: RedfishResource; why: string; score: number } | undefined;
  for (const { path, manager } of read) {
    const servers = memberIds(linksOf(manager).ManagerForServers);
    const managesSystem = systemPath !== undefined && servers.some((s) => samePath(s, systemPath));
    const rules: [number, string, boolean][] = [
      [8, 'named by the system ManagedBy', managedBy.some((m) => samePath(m, path))],
      [4, 'ManagerType BMC', manager.ManagerType === 'BMC'],
      [2, 'manages the system', managesSystem],
      [1, 'manages a server', !managesSystem && servers.length > 0],
      [
        1,
        'has a Model or FirmwareVersion',
        typeof manager.Model === 'string' || typeof manager.FirmwareVersion === 'string',
      ],
    ];
    const hits = rules.filter(([, , hit]) => hit);
    const score = hits.reduce((sum, [points]) => sum + points, 0);
    if (!best || score > best.score)
      best = { path, manager, why: hits.map(([, why]) => why).join(', ') || 'first readable', score };
  }
  return best;
}

function noteSynthesised(facts: Facts, collection: RedfishResource | undefined, name: string): void {
  if (collection?.[SYNTHESISED]) facts.notes.push(`${name} collection not in the capture: built from its member files`);
}

function linkOf(resource: RedfishResource | undefined, key: string): string | undefined {
  return odataId(resource?.[key]);
}

function linksOf(resource: RedfishResource | undefined): Record<string, unknown> {
  const links = resource?.Links;
  return links && typeof links === 'object' && !Array.isArray(links) ? (links as Record<string, unknown>) : {};
}

function unique(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) if (!out.some((o) => samePath(o, p))) out.push(p);
  return out;
}
