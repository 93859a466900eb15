type Json = Record<string, any>;

export type Lang = 'zh' | 'en';

/** `Accept-Language` → the narrative language: English only when preferred over Chinese. */
export function narrativeLanguage(acceptLanguage: string | undefined): Lang {
  if (!acceptLanguage) return 'zh';
  const ranked = acceptLanguage
    .split(',')
    .map((part, i) => {
      const [tag, ...params] = part.trim().toLowerCase().split(';');
      const q = params.map((p) => /^q=([\d.]+)$/.exec(p.trim())?.[1]).find(Boolean);
      return { tag: tag ?? '', q: q === undefined ? 1 : Number(q), i };
    })
    .filter((x) => x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  const first = ranked.find((x) => x.tag.startsWith('zh') || x.tag.startsWith('en'));
  return first?.tag.startsWith('en') ? 'en' : 'zh';
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const TO_ESCAPE = /[&<>"]/g;

/** XHTML text: one pass, and none at all for the usual cell with nothing to escape. */
function escape(s: string): string {
  TO_ESCAPE.lastIndex = 0;
  return TO_ESCAPE.test(s) ? s.replace(TO_ESCAPE, (c) => ESCAPES[c]!) : s;
}

const COLUMNS: Record<Lang, string[]> = {
  zh: ['项目', '日期', '结果或状态', '来源机构'],
  en: ['Item', 'Date', 'Result or status', 'Source institution'],
};

const EMPTY: Record<Lang, string> = { zh: '无可用信息', en: 'No information available' };

export function displayOf(cc: Json | undefined): string {
  const c = (cc?.coding ?? []).find((x: Json) => x.display) ?? cc?.coding?.[0];
  return String(cc?.text ?? c?.display ?? c?.code ?? '');
}

function valueOf(r: Json): string {
  const q = r.valueQuantity;
  if (q) return `${q.value} ${q.unit ?? q.code ?? ''}`.trim();
  if (r.valueCodeableConcept) return displayOf(r.valueCodeableConcept);
  if (r.valueString !== undefined) return String(r.valueString);
  if (r.component)
    return (
      r.component
        .map((c: Json) => (c.valueQuantity ? `${c.valueQuantity.value}` : ''))
        .filter(Boolean)
        .join('/') + (r.component[0]?.valueQuantity?.unit ? ` ${r.component[0].valueQuantity.unit}` : '')
    );
  if (r.conclusion) return String(r.conclusion);
  return String(r.status ?? displayOf(r.clinicalStatus) ?? '');
}

function itemOf(r: Json): string {
  switch (r.resourceType) {
    case 'MedicationRequest':
    case 'MedicationStatement':
      return displayOf(r.medicationCodeableConcept) || String(r.medicationReference?.display ?? '');
    case 'Immunization':
      return displayOf(r.vaccineCode);
    case 'Encounter':
      return (
        displayOf(r.type?.[0]) || displayOf(r.serviceType) || String(r.class?.display ?? r.class?.code ?? '')
      );
    case 'EpisodeOfCare':
      return displayOf(r.type?.[0]);
    case 'CareTeam':
      return String(r.name ?? displayOf(r.category?.[0]));
    case 'CarePlan':
      return String(r.title ?? '');
    case 'Flag':
      return displayOf(r.code);
    default:
      return displayOf(r.code);
  }
}

export function dateOf(r: Json): string {
  const v =
    r.effectiveDateTime ??
    r.effectivePeriod?.start ??
    r.issued ??
    r.occurrenceDateTime ??
    r.performedDateTime ??
    r.performedPeriod?.start ??
    r.authoredOn ??
    r.recordedDate ??
    r.onsetDateTime ??
    r.period?.start ??
    r.dateAsserted ??
    '';
  return String(v).slice(0, 10);
}

/** The section's XHTML narrative (`status: generated`), one row per entry, in the chosen language. */
export function sectionNarrative(
  rows: { resource: Json; institutions: string[] }[],
  lang: Lang,
): { status: 'generated'; div: string } {
  if (rows.length === 0)
    return {
      status: 'generated',
      div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>${EMPTY[lang]}</p></div>`,
    };
  const head = COLUMNS[lang].map((c) => `<th>${escape(c)}</th>`).join('');
  const body = rows
    .map(({ resource, institutions }) =>
      [itemOf(resource), dateOf(resource), valueOf(resource), institutions.join(lang === 'zh' ? '、' : ', ')]
        .map((cell) => `<td>${escape(cell)}</td>`)
        .join(''),
    )
    .map((cells) => `<tr>${cells}</tr>`)
    .join('');
  return {
    status: 'generated',
    div: `<div xmlns="http://www.w3.org/1999/xhtml"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`,
  };
}
