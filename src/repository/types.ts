import type { PoolClient } from 'pg';
import type { Queryable } from '../db/database.ts';

/** One version of a resource as the store keeps it; `json` is the stored text, served as is. */
export interface StoredResource {
  resourceType: string;
  id: string;
  versionId: number;
  /** ISO 8601 instant. */
  lastUpdated: string;
  deleted: boolean;
  /** The resource's JSON text (with `meta.versionId`/`meta.lastUpdated`); null for a deletion. */
  json: string | null;
}

/** Rows of the search index tables for one resource (see `db/migrations/001-repository.sql`). */
export interface IndexRows {
  token: { code: string; system: string | null; value: string | null; text: string | null }[];
  string: { code: string; norm: string; exact: string; grams: string[] }[];
  date: { code: string; lo: string; hi: string }[];
  reference: { code: string; targetType: string | null; targetId: string | null; url: string | null }[];
  number: { code: string; value: string }[];
  quantity: { code: string; value: string; system: string | null; unit: string | null }[];
  uri: { code: string; value: string }[];
  /** Ids of the Patients whose compartment holds the resource. */
  compartments: string[];
}

export type { Queryable, PoolClient };
