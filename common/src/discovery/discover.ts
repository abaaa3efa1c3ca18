import type { Logger } from '../log.js';
import type { RedfishSource } from '../redfish/source.js';
import { detectors, oemKeys, text, type Detector } from './detectors.js';
import { readChassis, readRoot, readSystemAndManager, type Facts } from './facts.js';
import { makerOf } from './makers.js';
import type { Discovery } from './types.js';

export interface DiscoverOptions {
  log?: Logger;
  /** Ironic's system_id: the host's ComputerSystem (path or id) when the BMC has several; default the first. */
  systemId?: string;
}

/**
 * Which BMC is this? Reads the service root (no credentials needed), then with credentials the host system and its
 * BMC manager (for the manager id and firmware, and to decide when the root says too little), and the chassis only
 * when the family's generation or hardware vendor is still open. An unknown or unsupported BMC is a result
 * (family "unknown" plus evidence); network, TLS and authentication failures reject with RedfishError.
 */
export async function discover(source: RedfishSource, options: DiscoverOptions = {}): Promise<Discovery> {
  const facts: Facts = { notes: [] };
  await readRoot(source, facts);
  if (source.hasCredentials) await readSystemAndManager(source, facts, options.systemId);
  else facts.notes.push('no user name given: Manager and System not read');
  let verdict = classify(facts);
  if (source.hasCredentials && !facts.chassis && verdict.wantsChassis) {
    await readChassis(source, facts);
    verdict = classify(facts);
  }
  const discovery: Discovery = {
    vendor: verdict.vendor,
    family: verdict.family,
    generation: verdict.generation,
    managerId: text(facts.manager, 'Id') ?? null,
    evidence: [...verdict.evidence, ...facts.notes],
    firmwareVersion: text(facts.manager, 'FirmwareVersion') ?? null,
    managerPath: facts.managerPath ?? null,
    systemPath: facts.systemPath ?? null,
  };
  options.log?.debug({ source: source.location, discovery }, 'redfish discovery');
  return discovery;
}

interface Verdict {
  vendor: string;
  family: string;
  generation: string | null;
  evidence: string[];
  /** Reading the chassis could still fill in the generation or the hardware vendor. */
  wantsChassis: boolean;
}

/** Runs the detector table over the facts: pure, so it can run again after the chassis was read. */
export function classify(facts: Facts): Verdict {
  const match = firstMatch(facts, 'strong') ?? firstMatch(facts, 'weak');
  if (!match) {
    const hw = hardwareVendor(facts);
    return {
      vendor: hw?.vendor ?? 'unknown',
      family: 'unknown',
      generation: null,
      evidence: ['no detector matched', ...(hw ? [hw.evidence] : []), ...describe(facts)],
      wantsChassis: true,
    };
  }
  const { detector, hits, tier } = match;
  const evidence = hits.map((h) => (tier === 'weak' ? `${h} (weak signal: nothing stronger matched)` : h));
  const others = detectors
    .filter((d) => d !== detector)
    .map((d) => [d.family, d.strong.map((s) => s(facts)).filter(isString)] as const)
    .filter(([, h]) => h.length > 0);
  for (const [family, h] of others) evidence.push(`also matched ${family}: ${h.join(', ')} (lower priority)`);

  const generation = detector.generation?.(facts);
  if (generation) evidence.push(`generation ${generation.value}: ${generation.evidence}`);
  else if (detector.generation) evidence.push('generation not found in the payloads');

  let vendor = detector.vendor;
  if (!vendor) {
    const hw = hardwareVendor(facts);
    vendor = hw?.vendor ?? 'unknown';
    evidence.push(hw ? hw.evidence : 'hardware vendor not named in root, System or Chassis');
  }
  const open = (detector.generation !== undefined && !generation) || vendor === 'unknown';
  return {
    vendor,
    family: detector.family,
    generation: generation?.value ?? null,
    evidence,
    wantsChassis: Boolean(detector.wantsChassis) && open,
  };
}

function firstMatch(
  facts: Facts,
  tier: 'strong' | 'weak',
): { detector: Detector; hits: string[]; tier: 'strong' | 'weak' } | undefined {
  for (const detector of detectors) {
    const hits = (detector[tier] ?? []).map((s) => s(facts)).filter(isString);
    if (hits.length > 0) return { detector, hits, tier };
  }
  return undefined;
}

/**
 * The server maker behind a BMC stack (AMI, OpenBMC): System Manufacturer, then Chassis Manufacturer, then root
 * Vendor (an integrator such as NVIDIA), then a known maker among root Oem keys. "AMI" itself is not a server maker.
 */
function hardwareVendor(facts: Facts): { vendor: string; evidence: string } | undefined {
  const places: [string, string | undefined][] = [
    ['System Manufacturer', text(facts.system, 'Manufacturer')],
    ['Chassis Manufacturer', text(facts.chassis, 'Manufacturer')],
    ['root Vendor', text(facts.root, 'Vendor')],
    ...oemKeys(facts.root).map((k): [string, string] => ['root Oem key', k]),
  ];
  for (const [where, value] of places) {
    const vendor = makerOf(value);
    if (vendor) return { vendor, evidence: `vendor ${vendor}: ${where}="${value}"` };
  }
  return undefined;
}

/** What an unknown BMC showed, so a person can add a detector for it. */
function describe(facts: Facts): string[] {
  const out: string[] = [];
  const show = (label: string, value: string | undefined) => {
    if (value !== undefined) out.push(`${label}="${value}"`);
  };
  show('root Vendor', text(facts.root, 'Vendor'));
  show('root Product', text(facts.root, 'Product'));
  show('root Name', text(facts.root, 'Name'));
  if (oemKeys(facts.root).length) out.push(`root Oem keys: ${oemKeys(facts.root).join(', ')}`);
  show('Manager Model', text(facts.manager, 'Model'));
  show('Manager Name', text(facts.manager, 'Name'));
  show('Manager FirmwareVersion', text(facts.manager, 'FirmwareVersion'));
  if (oemKeys(facts.manager).length) out.push(`Manager Oem keys: ${oemKeys(facts.manager).join(', ')}`);
  show('System Manufacturer', text(facts.system, 'Manufacturer'));
  show('System Model', text(facts.system, 'Model'));
  return out;
}

function isString(v: string | undefined): v is string {
  return v !== undefined;
}
