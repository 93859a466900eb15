/** The only casts a placeholder may carry; the SQL around values is fixed text. */
export type SqlCast = 'text' | 'text[]' | 'numeric' | 'timestamptz' | 'integer';

/**
 * Collects the bound values of one statement. Every value from a request goes through `bind`,
 * which returns its placeholder; identifiers (tables, columns, aliases) come from fixed lists
 * in this folder, so no request text ever becomes SQL.
 */
export class SqlParams {
  readonly values: unknown[] = [];
  private aliasCount = 0;

  bind = (value: unknown, cast?: SqlCast): string => {
    this.values.push(value);
    return cast ? `$${this.values.length}::${cast}` : `$${this.values.length}`;
  };

  /** A fresh table alias, so that nested subqueries never shadow each other. */
  alias(prefix: 'x' | 'c' | 't' | 'h' | 's'): string {
    this.aliasCount++;
    return `${prefix}${this.aliasCount}`;
  }
}
