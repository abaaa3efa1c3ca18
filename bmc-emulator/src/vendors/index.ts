import type { Ctx, WebUi } from '../context.js';
import { amiUi } from './ami.js';
import { genericUi } from './generic.js';
import { idracUi } from './idrac.js';
import { iloUi } from './ilo.js';
import { openbmcUi } from './openbmc.js';
import { supermicroUi } from './supermicro.js';
import { xccUi } from './xcc.js';

export function createWebUi(ctx: Ctx): WebUi {
  switch (ctx.profile.webUi) {
    case 'idrac':
      return idracUi(ctx);
    case 'ilo':
      return iloUi(ctx);
    case 'xcc':
      return xccUi(ctx);
    case 'supermicro':
      return supermicroUi(ctx);
    case 'openbmc':
      return openbmcUi(ctx);
    case 'ami':
      return amiUi(ctx);
    case 'generic':
      return genericUi(ctx);
  }
}
