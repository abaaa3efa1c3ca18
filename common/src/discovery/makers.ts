/**
 * Server makers as Redfish spells them (Manufacturer, root Vendor, Oem keys), mapped onto discovery's lower-case
 * vendor names. Case-insensitive substring matches: `Dell Inc.`, `Cisco Systems Inc` / `Cisco Systems Inc.`,
 * `https://www.mellanox.com` (BlueField) all occur in real payloads.
 */
const MAKERS: readonly [RegExp, string][] = [
  [/\bdell\b/i, 'dell'],
  [/\bhpe?\b|hewlett/i, 'hpe'],
  [/lenovo/i, 'lenovo'],
  [/super\s*micro/i, 'supermicro'],
  [/giga-?byte/i, 'gigabyte'],
  [/nvidia|mellanox/i, 'nvidia'],
  [/\bintel\b/i, 'intel'],
  [/cisco/i, 'cisco'],
  [/fujitsu|^ts_fujitsu$/i, 'fujitsu'],
  [/huawei/i, 'huawei'],
  [/xfusion/i, 'xfusion'],
  [/inspur/i, 'inspur'],
  [/quanta/i, 'quanta'],
  [/asrock/i, 'asrock'],
  [/wiwynn/i, 'wiwynn'],
  [/\bibm\b/i, 'ibm'],
];

/** BMC firmware makers that appear where a server maker is expected (root Vendor "AMI" on Gigabyte and DGX). */
const BMC_STACK_MAKERS = /^(ami|american megatrends.*|openbmc)$/i;

/** The server maker named by a Manufacturer/Vendor string, or undefined (also for "To be filled by O.E.M."). */
export function makerOf(text: unknown): string | undefined {
  if (typeof text !== 'string' || BMC_STACK_MAKERS.test(text.trim())) return undefined;
  return MAKERS.find(([re]) => re.test(text))?.[1];
}
