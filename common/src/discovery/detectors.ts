/**
 * One detector per BMC family: the signals that identify it and how to read its generation. The rules come from
 * shared/docs/redfish-vendor-detection.md (§2 pitfalls, §3 order) and are checked against every real capture in
 * shared/fixtures/redfish. Table order is priority: the first family with a strong signal wins; weak signals
 * (a system Manufacturer alone) decide only when no family has a strong one.
 */
import type { RedfishResource } from '../redfish/source.js';
import type { Facts } from './facts.js';

/** Evidence text when the signal fires, else undefined. */
type Signal = (f: Facts) => string | undefined;
type Reading = { value: string; evidence: string } | undefined;

export interface Detector {
  family: string;
  /** Server maker for single-maker BMCs; absent for BMC stacks (AMI, OpenBMC) whose hardware vendor varies. */
  vendor?: string;
  strong: Signal[];
  weak?: Signal[];
  generation?: (f: Facts) => Reading;
  /** The generation (or vendor) may be in the Chassis resource: read it when the rest left it open. */
  wantsChassis?: boolean;
}

type Where = 'root' | 'manager' | 'system' | 'chassis';
const WHERE_NAME: Record<Where, string> = { root: 'root', manager: 'Manager', system: 'System', chassis: 'Chassis' };

function resourceAt(f: Facts, where: Where): RedfishResource | undefined {
  return f[where];
}

/** A string property, or undefined. */
export function text(r: RedfishResource | undefined, key: string): string | undefined {
  const v = r?.[key];
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

/**
 * Vendor keys of an Oem block: only object-valued, not `@odata.*` (OpenBMC puts `@odata.id` and a scalar
 * `UptimeSeconds` in Oem; Gigabyte's root has an object called `Vendor`, which callers never look for).
 */
export function oemKeys(r: RedfishResource | undefined): string[] {
  const oem = r?.Oem;
  if (!oem || typeof oem !== 'object' || Array.isArray(oem)) return [];
  return Object.entries(oem)
    .filter(([k, v]) => !k.startsWith('@') && v !== null && typeof v === 'object' && !Array.isArray(v))
    .map(([k]) => k);
}

/** `where`.`key` matches `re` (never `$`-anchored against names: HPE's emulator appends " -- SIMULATED"). */
const field =
  (where: Where, key: string, re: RegExp): Signal =>
  (f) => {
    const v = text(resourceAt(f, where), key);
    return v !== undefined && re.test(v) ? `${WHERE_NAME[where]} ${key}="${v}"` : undefined;
  };

/** `where`.Oem has one of `keys` (exact, case-sensitive: `Hp` is iLO 4, `Hpe` iLO 5+). */
const oem =
  (where: Where, ...keys: string[]): Signal =>
  (f) => {
    const k = oemKeys(resourceAt(f, where)).find((key) => keys.includes(key));
    return k ? `${WHERE_NAME[where]} Oem key "${k}"` : undefined;
  };

/** `where`.Oem has a key starting with `prefix` (Cray's `CrayVoltageMargins`). */
const oemPrefix =
  (where: Where, prefix: string): Signal =>
  (f) => {
    const k = oemKeys(resourceAt(f, where)).find((key) => key.startsWith(prefix));
    return k ? `${WHERE_NAME[where]} Oem key "${k}"` : undefined;
  };

// ---------------------------------------------------------------------------------------------------------------
// Generations

/** Dell server generation -> iDRAC: 11G 6, 12G 7, 13G 8, 14G-16G 9, 17G 10. */
const IDRAC_BY_SERVER_GEN: Record<number, string> = { 11: '6', 12: '7', 13: '8', 14: '9', 15: '9', 16: '9', 17: '10' };

function idracGeneration(f: Facts): Reading {
  const model = text(f.manager, 'Model');
  const g = model && /\b(\d{2})G\b/.exec(model);
  const fromModel = g?.[1] ? IDRAC_BY_SERVER_GEN[Number(g[1])] : undefined;
  if (fromModel)
    return { value: fromModel, evidence: `Manager Model="${model}": ${g?.[1]}G server -> iDRAC ${fromModel}` };
  // PowerEdge names carry the generation in the second digit: R640 14G, R750 15G, R6515 15G, R820 12G, XE9680 16G.
  const sys = text(f.system, 'Model');
  const p = sys && /PowerEdge\s+[A-Z]{1,3}\d(\d)\d/i.exec(sys);
  const serverGen = p?.[1] ? 10 + Number(p[1]) : undefined;
  const fromSystem = serverGen ? IDRAC_BY_SERVER_GEN[serverGen] : undefined;
  if (fromSystem)
    return {
      value: fromSystem,
      evidence: `System Model="${sys}": ${serverGen}G server (PowerEdge naming) -> iDRAC ${fromSystem}`,
    };
  return undefined;
}

/**
 * iLO generation from the first place that has it: root Oem.Hp(e).Manager[0].ManagerType (all firmware),
 * Oem.Hpe.Moniker.PRODGEN, Manager Model (absent on iLO 4 and iLO 5 1.x), FirmwareVersion "iLO 5 v2.72" (iLO 7
 * dropped the prefix: "1.14.00 May 28 2025").
 */
function iloGeneration(f: Facts): Reading {
  const rootOem = f.root?.Oem as Record<string, unknown> | undefined;
  for (const key of ['Hpe', 'Hp']) {
    const block = rootOem?.[key] as Record<string, unknown> | undefined;
    const managers = block?.Manager;
    const first = Array.isArray(managers) ? (managers[0] as RedfishResource | undefined) : undefined;
    const type = text(first, 'ManagerType');
    const n = type && /iLO\s*(\d+)/i.exec(type)?.[1];
    if (n) return { value: n, evidence: `root Oem.${key}.Manager[0].ManagerType="${type}"` };
    const prodgen = text(block?.Moniker as RedfishResource | undefined, 'PRODGEN');
    const m = prodgen && /iLO\s*(\d+)/i.exec(prodgen)?.[1];
    if (m) return { value: m, evidence: `root Oem.${key}.Moniker.PRODGEN="${prodgen}"` };
  }
  for (const key of ['Model', 'FirmwareVersion']) {
    const v = text(f.manager, key);
    const n = v && /\biLO\s*(\d+)\b/i.exec(v)?.[1];
    if (n) return { value: n, evidence: `Manager ${key}="${v}"` };
  }
  return undefined;
}

/** "Lenovo XClarity Controller" is XCC (1); a trailing number ("... Controller 2", XCC2/XCC3 unverified) wins. */
function xccGeneration(f: Facts): Reading {
  const model = text(f.manager, 'Model');
  const m = model && /XClarity\s+Controller\s*(\d+)?|\bXCC\s*(\d+)?/i.exec(model);
  if (!m) return undefined;
  const n = m[1] ?? m[2] ?? '1';
  return { value: n, evidence: `Manager Model="${model}" -> XCC ${n}` };
}

/**
 * Supermicro never states the generation; it is in the board name (Chassis Model "X13DEG-OAD") or the server
 * name: SYS-821GE (third digit 0 X12, 1 X13, 2 X14), old SYS-1029U (last digit 7 X9, 8 X10, 9 X11), AMD AS-1124US
 * (last digit 3 H11, 4 H12, 5 H13, 6 H14).
 */
function supermicroGeneration(f: Facts): Reading {
  const candidates: [string, string | undefined][] = [
    ['Chassis Model', text(f.chassis, 'Model')],
    ['System Model', text(f.system, 'Model')],
    ['Manager Model', text(f.manager, 'Model')],
  ];
  for (const [where, model] of candidates) {
    if (!model) continue;
    const board = /^([XH])(\d{1,2})[A-Z]/i.exec(model);
    if (board?.[1] && board[2])
      return { value: `${board[1].toLowerCase()}${board[2]}`, evidence: `${where}="${model}" (board name)` };
    const gen = supermicroModelGeneration(model);
    if (gen) return { value: gen, evidence: `${where}="${model}" (Supermicro model naming)` };
  }
  return undefined;
}

function supermicroModelGeneration(model: string): string | undefined {
  const modern = /^(?:SYS|SSG|SBI|SBA)-\d\d(\d)[A-Z]/i.exec(model)?.[1];
  if (modern !== undefined) return ({ '0': 'x12', '1': 'x13', '2': 'x14' } as Record<string, string>)[modern];
  const legacy = /^(?:SYS|SSG)-\d\d\d(\d)[A-Z]/i.exec(model)?.[1];
  if (legacy !== undefined) return ({ '7': 'x9', '8': 'x10', '9': 'x11' } as Record<string, string>)[legacy];
  const amd = /^AS\s*-\s*\d\d\d(\d)[A-Z]/i.exec(model)?.[1];
  if (amd !== undefined) return ({ '3': 'h11', '4': 'h12', '5': 'h13', '6': 'h14' } as Record<string, string>)[amd];
  return undefined;
}

/** Cisco UCS C-series generation from the server PID: "UCSC-C220-M5SX", "UCS C220 M4S" -> M5, M4. */
function cimcGeneration(f: Facts): Reading {
  const candidates: [string, string | undefined][] = [
    ['Manager Model', text(f.manager, 'Model')],
    ['System Model', text(f.system, 'Model')],
    ['root Product', text(f.root, 'Product')],
    ['Chassis Model', text(f.chassis, 'Model')],
  ];
  for (const [where, model] of candidates) {
    const n = model && /(?:^|[\s-])M(\d{1,2})[A-Z]{0,3}(?=$|[\s-])/i.exec(model)?.[1];
    if (n) return { value: `M${n}`, evidence: `${where}="${model}"` };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// The table

export const detectors: readonly Detector[] = [
  {
    family: 'idrac',
    vendor: 'dell',
    strong: [
      field('root', 'Vendor', /^dell\b/i),
      oem('root', 'Dell'),
      field('root', 'Product', /Integrated Dell Remote Access Controller/i),
      field('manager', 'Id', /^iDRAC\./i),
      field('manager', 'Model', /^\d{2}G\s+(Monolithic|Modular|DCS)/i),
      oem('manager', 'Dell'),
    ],
    weak: [field('system', 'Manufacturer', /\bdell\b/i)],
    generation: idracGeneration,
  },
  {
    // Before iLO: Cray EX nodes say Manufacturer "HPE" but have no iLO (an EnclosureManager, no Model).
    family: 'cray-ex-bmc',
    vendor: 'hpe-cray',
    strong: [
      field('system', 'Model', /\bcray\b/i),
      oemPrefix('chassis', 'Cray'),
      oemPrefix('system', 'Cray'),
      field('chassis', 'Model', /\bcray\b/i),
    ],
  },
  {
    family: 'ilo',
    vendor: 'hpe',
    strong: [
      oem('root', 'Hpe', 'Hp'),
      field('root', 'Name', /^HPE? RESTful Root Service/i),
      field('root', 'Vendor', /^(HPE?|Hewlett)/i),
      field('manager', 'Model', /^iLO\b/i),
      field('manager', 'FirmwareVersion', /^iLO\s*\d/i),
      oem('manager', 'Hpe', 'Hp'),
    ],
    weak: [field('system', 'Manufacturer', /^(HPE?|Hewlett)/i)],
    generation: iloGeneration,
  },
  {
    family: 'xcc',
    vendor: 'lenovo',
    strong: [
      field('root', 'Vendor', /lenovo/i),
      oem('root', 'Lenovo'),
      field('manager', 'Model', /XClarity|\bXCC\b/i),
      oem('manager', 'Lenovo'),
    ],
    weak: [field('system', 'Manufacturer', /lenovo/i)],
    generation: xccGeneration,
  },
  {
    family: 'cimc',
    vendor: 'cisco',
    strong: [
      field('root', 'Vendor', /cisco/i),
      field('root', 'Name', /^Cisco RESTful Root Service/i),
      oem('root', 'Cisco'),
      field('manager', 'Id', /^CIMC$/i),
      field('manager', 'Name', /Cisco Integrated Management Controller/i),
      oem('manager', 'Cisco'),
    ],
    weak: [field('system', 'Manufacturer', /cisco/i)],
    generation: cimcGeneration,
  },
  {
    // Before Supermicro and OpenBMC: "AMI" names the BMC stack, whatever the server maker (Gigabyte, NVIDIA DGX).
    family: 'ami-megarac',
    strong: [
      field('root', 'Vendor', /^AMI\b|American Megatrends/i),
      field('root', 'Product', /^AMI Redfish Server/i),
      oem('root', 'Ami', 'AMI'),
      oem('manager', 'Ami', 'AMI'),
    ],
    wantsChassis: true,
  },
  {
    family: 'smc-bmc',
    vendor: 'supermicro',
    strong: [field('root', 'Vendor', /super\s*micro/i), oem('root', 'Supermicro'), oem('manager', 'Supermicro')],
    weak: [field('system', 'Manufacturer', /super\s*micro/i), field('chassis', 'Manufacturer', /super\s*micro/i)],
    generation: supermicroGeneration,
    wantsChassis: true,
  },
  {
    family: 'openbmc',
    strong: [
      field('manager', 'Model', /^OpenBmc\b/i),
      field('manager', 'Name', /^OpenBmc\b/i),
      oem('manager', 'OpenBmc'),
    ],
    wantsChassis: true,
  },
  {
    family: 'intel-bmc',
    vendor: 'intel',
    // Intel server boards report the board as Manager Model (S2600BPB); Systems carries Intel_RackScale.
    strong: [field('manager', 'Model', /^S\d{4}[A-Z]/), oem('system', 'Intel_RackScale')],
    weak: [field('system', 'Manufacturer', /\bintel\b/i)],
  },
];
