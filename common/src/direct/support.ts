import type { DirectVendor } from '../contracts/direct-target.js';
import type { Discovery } from '../discovery/types.js';

/** iDRAC9's noVNC viewer (/vnc/vconsole) came with firmware 6.00; older builds run the Avocent viewer on :5900. */
const IDRAC9_NOVNC_FROM_MAJOR = 6;

/**
 * The KVM dialect a browserless console would speak to this BMC, or null with the reason it cannot: OpenBMC
 * (bmcweb /kvm/0), Lenovo XCC3 (the same socket), Dell iDRAC9 from firmware 6.00 (/vnc/vconsole). Everything else,
 * an unknown generation or firmware included, gets a container.
 */
export function directVendorFor(d: Discovery): { vendor: DirectVendor } | { vendor: null; why: string } {
  if (d.family === 'openbmc') return { vendor: 'openbmc' };
  if (d.family === 'xcc') {
    if (d.generation === '3') return { vendor: 'xcc3' };
    return { vendor: null, why: `XCC generation ${d.generation ?? 'unknown'}: only XCC3 has the /kvm/0 console` };
  }
  if (d.family === 'idrac') {
    if (d.generation !== '9')
      return { vendor: null, why: `iDRAC ${d.generation ?? '(generation unknown)'}: only iDRAC9 is supported` };
    const major = Number(/^(\d+)\./.exec(d.firmwareVersion ?? '')?.[1]);
    if (Number.isFinite(major) && major >= IDRAC9_NOVNC_FROM_MAJOR) return { vendor: 'idrac9' };
    return {
      vendor: null,
      why: `iDRAC9 firmware ${d.firmwareVersion ?? 'unknown'}: the /vnc/vconsole viewer needs ${IDRAC9_NOVNC_FROM_MAJOR}.00 or later`,
    };
  }
  return {
    vendor: null,
    why: `${d.family === 'unknown' ? 'an unknown BMC' : d.family}: its KVM needs the vendor's viewer page`,
  };
}
