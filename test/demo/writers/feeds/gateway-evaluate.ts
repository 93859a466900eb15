import type { Bundle, OperationOutcome } from 'fhir/r4';
import { loadDirectory } from '../../../../src/demo/care/directory.ts';
import { splitMessages } from '../../../../src/demo/send/split.ts';
import type { RenderedFile } from '../../../../src/demo/types.ts';
import type { InboundMessage } from '../../../../src/inbox/types.ts';
import type { Institution } from '../../../../src/institutions/types.ts';
import { loadMappings } from '../../../../src/mapping/engine/index.ts';
import { loadSensitivityRules } from '../../../../src/mapping/sensitivity/index.ts';
import type { MappedMessage } from '../../../../src/mapping/types.ts';
import { evaluateFhir } from '../../../../src/pipeline/fhir-stage.ts';
import { feedEvaluator, type FeedStageParts } from '../../../../src/pipeline/feed-stage.ts';
import { loadFhirModel } from '../../../../src/repository/fhir-model.ts';

export const BASE = 'https://county-hie.org/fhir';

/**
 * The gateway's own evaluation of a message — parse, map, label, validate, exactly what it runs
 * before it answers — without the archive and queue around it: each generated file is cut into
 * messages by the demo sender's splitter, a CSV row gets its header as the gateway archives it.
 * `evaluateFhir` / `feedEvaluator` read only the mapping, model, sensitivity and institution
 * parts, so the archive and queue parts are left out.
 */
export interface Evaluated {
  index: number;
  mapped?: MappedMessage;
  failure?: OperationOutcome;
}

let parts: FeedStageParts | undefined;

async function stageParts(): Promise<FeedStageParts> {
  if (parts) return parts;
  const ids = new Set(loadDirectory().institutions.map((i) => i.id));
  parts = {
    mappings: await loadMappings(),
    sensitivity: loadSensitivityRules(),
    model: loadFhirModel(),
    canonicalBase: BASE,
    institutionIds: async () => ids,
  } as unknown as FeedStageParts;
  return parts;
}

export function registeredInstitution(id: string): Institution {
  const entry = loadDirectory().institution(id);
  if (!entry) throw new Error(`${id} is not in the registry`);
  return { ...entry, active: true, publicKeys: [], mllpAllowFrom: [] };
}

export async function evaluateFile(file: RenderedFile): Promise<Evaluated[]> {
  const p = await stageParts();
  const institution = registeredInstitution(file.institution);
  const { header, messages } = splitMessages(file.channel, file.bytes);
  const out: Evaluated[] = [];
  for (const [index, piece] of messages.entries()) {
    const archiveId = `0190a1b2-0000-7000-8000-${String(index).padStart(12, '0')}`;
    if (file.channel === 'fhir') {
      out.push({ index, ...(await evaluateFhir(p, institution, piece, archiveId)) });
      continue;
    }
    const [format, feed] = file.channel.split(':') as ['csv' | 'json', string];
    const raw =
      format === 'csv' ? Buffer.concat([header!, Buffer.from('\r\n'), piece, Buffer.from('\r\n')]) : piece;
    const message = {
      id: archiveId,
      institution: institution.id,
      format,
      feed,
      raw,
      charset: file.charset,
    } as InboundMessage;
    const evaluate = feedEvaluator(
      p,
      async (id) => (id === institution.id ? institution : undefined),
      format,
    );
    out.push({ index, ...(await evaluate(message)) });
  }
  return out;
}

/** The resources of a mapped Bundle of one type. */
export function resourcesOf<T = any>(bundle: Bundle | undefined, type: string): T[] {
  return (bundle?.entry ?? []).filter((e) => e.resource?.resourceType === type).map((e) => e.resource as T);
}

export function errorsOf(outcome: OperationOutcome | undefined): string[] {
  return (outcome?.issue ?? [])
    .filter((i) => i.severity === 'error' || i.severity === 'fatal')
    .map((i) => `${i.expression?.join(',') ?? ''}: ${i.diagnostics ?? i.details?.text ?? i.code}`);
}
