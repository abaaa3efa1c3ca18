/**
 * The vendor script registry: the first script whose matches() accepts the discovery opens the console.
 * generic matches everything and must stay last.
 */
import type { Discovery, VendorScript } from '../src/vendor-script.js';
import { ami } from './ami.js';
import { generic } from './generic.js';
import { idrac } from './idrac.js';
import { ilo } from './ilo.js';
import { openbmc } from './openbmc.js';
import { supermicro } from './supermicro.js';
import { xcc } from './xcc.js';

export const vendorScripts: readonly VendorScript[] = [idrac, ilo, xcc, supermicro, openbmc, ami, generic];

export function pickVendorScript(d: Discovery): VendorScript {
  return vendorScripts.find((s) => s.matches(d)) ?? generic;
}
