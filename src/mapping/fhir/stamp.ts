import type { MappingContext } from '../types.ts';

/**
 * What the pipeline writes on every resource (CONTRACTS "Where a resource came from"):
 * `meta.source` = the owning institution and the archive id, the mapping `id@version` as a tag,
 * and the ordering key as the source-event-time extension.
 */
export function stampProvenance(
  resource: Record<string, any>,
  ctx: MappingContext,
  mapping: string,
  eventTime?: string,
): void {
  const base = ctx.canonicalBase;
  const tagSystem = `${base}/CodeSystem/mapping`;
  const meta = (resource.meta ??= {});
  meta.source = `${base}/institution/${ctx.institution.id}#${ctx.archiveId}`;
  delete meta.versionId;
  delete meta.lastUpdated;
  meta.tag = [
    ...(Array.isArray(meta.tag) ? meta.tag.filter((t: any) => t?.system !== tagSystem) : []),
    { system: tagSystem, code: mapping },
  ];
  if (eventTime) {
    const url = `${base}/StructureDefinition/source-event-time`;
    const others = Array.isArray(resource.extension)
      ? resource.extension.filter((e: any) => e?.url !== url)
      : [];
    resource.extension = [...others, { url, valueDateTime: eventTime }];
  }
}
