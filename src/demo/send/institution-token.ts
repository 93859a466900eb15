import { requestInstitutionToken, type InstitutionToken } from '../../auth/backend-services/request-token.ts';

export {
  requestInstitutionToken,
  TokenRequestError,
  type InstitutionToken,
} from '../../auth/backend-services/request-token.ts';

/**
 * One token per institution, renewed a minute before it expires so a long load never sends with
 * a token that lapses in flight. Concurrent callers for one institution share one request.
 */
export class InstitutionTokens {
  private readonly cache = new Map<string, Promise<InstitutionToken>>();
  /** How many tokens each institution obtained (a renewal counts). */
  readonly obtained = new Map<string, number>();

  constructor(
    private readonly publicUrl: string,
    private readonly keyOf: (institution: string) => Promise<string>,
    private readonly renewBeforeMs = 60_000,
  ) {}

  async get(institution: string): Promise<string> {
    const cached = this.cache.get(institution);
    if (cached) {
      const token = await cached.catch(() => undefined);
      if (token && token.expiresAtMs - this.renewBeforeMs > Date.now()) return token.accessToken;
      if (this.cache.get(institution) !== cached) return this.get(institution);
    }
    const fresh = this.keyOf(institution).then((pem) =>
      requestInstitutionToken(this.publicUrl, institution, pem),
    );
    this.cache.set(institution, fresh);
    fresh.then(
      () => this.obtained.set(institution, (this.obtained.get(institution) ?? 0) + 1),
      () => this.cache.delete(institution),
    );
    return (await fresh).accessToken;
  }
}
