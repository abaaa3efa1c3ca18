/** `podman ps --format json` (one JSON array) and `docker ps --format json` (one object per line, labels as "k=v,k=v"), normalised. */
export interface PsRow {
  name: string;
  labels: Record<string, string>;
  running: boolean;
  /** Seconds since the epoch (podman: a number; docker: a date string). */
  created: number;
  /** podman only. */
  imageId?: string;
}

export function parsePsRows(out: string): PsRow[] {
  const text = out.trim();
  if (!text) return [];
  const rows: unknown[] = text.startsWith('[')
    ? (JSON.parse(text) as unknown[])
    : text.split('\n').map((l) => JSON.parse(l) as unknown);
  return rows.map((row) => {
    const r = row as {
      Names?: string[] | string;
      Labels?: Record<string, string> | string | null;
      State?: string;
      Created?: number | string;
      ImageID?: string;
    };
    const labels =
      typeof r.Labels === 'string'
        ? Object.fromEntries(
            r.Labels.split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
          )
        : (r.Labels ?? {});
    return {
      name: Array.isArray(r.Names) ? (r.Names[0] ?? '') : (r.Names ?? ''),
      labels,
      running: /^running$/i.test(r.State ?? '') || /^up/i.test(r.State ?? ''),
      created: typeof r.Created === 'number' ? r.Created : Date.parse(String(r.Created ?? '')) / 1000 || 0,
      ...(r.ImageID ? { imageId: r.ImageID } : {}),
    };
  });
}
