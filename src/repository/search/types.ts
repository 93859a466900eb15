import type { OperationOutcomeIssue } from 'fhir/r4';
import type { StoredResource } from '../types.ts';

/**
 * An SQL predicate on one `resource` row, added by the access layer so that hidden resources
 * drop out before paging and before `total` (CONTRACTS: "hidden resources removed before paging
 * and before total"). `alias` names the `resource` row (columns resource_type, id, compartments,
 * content …); `bind` turns a value into a placeholder (`$7`). It must return a boolean SQL
 * expression built only from fixed text and `bind` placeholders. It is applied to the matches,
 * to chained and `_has` resources (they must not reveal what the caller cannot see) and to
 * `_include`/`_revinclude` results.
 */
export type VisibleIf = (alias: string, bind: (value: unknown) => string) => string;

export interface SearchRequest {
  /** undefined = system-level search (`GET /fhir?_type=…`, or all types). */
  resourceType: string | undefined;
  /** Raw query pairs, in order, already URL-decoded. */
  params: [string, string][];
  /** `Prefer: handling=strict`: unknown parameters are errors instead of warnings. */
  strict: boolean;
  /** Absolute FHIR base, e.g. `http://localhost:8080/fhir`, for fullUrl and links. */
  baseUrl: string;
  /** Access-control hook; see `VisibleIf`. No policy uses it yet. */
  visibleIf?: VisibleIf;
}

export type SummaryMode = 'true' | 'text' | 'data' | 'count' | 'false';

export interface SearchResult {
  /** This page, in order. */
  matches: StoredResource[];
  /** `_include`/`_revinclude` targets, deduplicated, never repeating a match. */
  includes: StoredResource[];
  /**
   * `_total=accurate|estimate` (both counted exactly), `_summary=count` and `_count=0`: the count.
   * `_total=none`: undefined. Default: known only when free, i.e. the first page holds everything.
   */
  total: number | undefined;
  selfUrl: string;
  nextUrl: string | undefined;
  /** Warnings for ignored parameters (lenient handling). */
  issues: OperationOutcomeIssue[];
  elements?: string[];
  summary?: SummaryMode;
}

/** A date (or instant) query value as the half-open range its precision spans: [lo, next). */
export interface DateValue {
  prefix: DatePrefix;
  lo: string;
  next: string;
}
export type DatePrefix = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'sa' | 'eb';

/** A decimal with its implicit precision: `5.4` means [5.35, 5.45). Texts, never JS numbers. */
export interface NumberValue {
  prefix: Exclude<DatePrefix, 'sa' | 'eb'>;
  value: string;
  /** Half the unit of the last significant digit, as numeric text (`5e-2`). */
  half: string;
}

/** `value|system|code`; `unit` is matched against the index's `unit` column (the UCUM code). */
export interface QuantityValue {
  number: NumberValue;
  system?: string;
  unit?: string;
}

export interface TokenValue {
  /** undefined = any system; null = no system (`|code`). */
  system: string | null | undefined;
  /** undefined = any code (`system|`). */
  code: string | undefined;
}

export type ReferenceValue = { targetTypes: string[] | undefined; id: string } | { url: string };

export type Criterion =
  | { kind: 'id'; ids: string[] }
  | { kind: 'lastUpdated'; values: DateValue[] }
  | { kind: 'token'; code: string; not: boolean; values: TokenValue[] }
  | { kind: 'token-text'; code: string; values: string[] }
  | { kind: 'string'; code: string; match: 'starts' | 'exact' | 'contains'; values: string[] }
  | { kind: 'date'; code: string; values: DateValue[] }
  | { kind: 'number'; code: string; values: NumberValue[] }
  | { kind: 'quantity'; code: string; values: QuantityValue[] }
  | { kind: 'uri'; code: string; match: 'exact' | 'below' | 'above'; values: string[] }
  | { kind: 'reference'; code: string; values: ReferenceValue[] }
  | { kind: 'missing'; table: IndexTable; code: string; missing: boolean }
  | { kind: 'chain'; code: string; targetType: string; inner: Criterion }
  | { kind: 'has'; sourceType: string; refCode: string; inner: Criterion };

export type IndexTable =
  'sp_token' | 'sp_string' | 'sp_date' | 'sp_reference' | 'sp_number' | 'sp_quantity' | 'sp_uri';

export type SortKind = 'id' | 'lastUpdated' | 'date' | 'string' | 'token' | 'number' | 'quantity';

export interface SortKey {
  kind: SortKind;
  /** The search parameter code; empty for `_id` / `_lastUpdated`. */
  code: string;
  descending: boolean;
}

export interface IncludeSpec {
  reverse: boolean;
  /** The resource type holding the reference parameter. */
  sourceType: string;
  code: string;
  /** `_include=Type:param:Target` narrows the targets. */
  targetType?: string;
}

/** A search request parsed and checked: everything the SQL stage needs, nothing from HTTP. */
export interface ParsedSearch {
  /** Types searched; empty = all types (system-level search without `_type`). */
  types: string[];
  criteria: Criterion[];
  sort: SortKey[];
  count: number;
  total: 'none' | 'estimate' | 'accurate' | undefined;
  summary?: SummaryMode;
  elements?: string[];
  includes: IncludeSpec[];
  cursor?: string;
  /** The parameters that were understood, for the self and next links. */
  used: [string, string][];
  issues: OperationOutcomeIssue[];
}
