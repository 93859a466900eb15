import type { Response } from 'express';
import type { AuthContext } from '../../auth/verify-token.ts';
import type { Institution, InstitutionRegistry } from '../../institutions/types.ts';
import { forbidden, unauthorized } from '../../kernel/outcomes.ts';

/**
 * The institution a submission comes from is the authenticated client — never a field of the
 * message (CONTRACTS: "the institution is the authenticated sender"). A token without an
 * institution (an administrator's) cannot submit.
 */
export async function submittingInstitution(
  res: Response,
  registry: InstitutionRegistry,
): Promise<Institution> {
  const auth = res.locals.auth as AuthContext | undefined;
  if (!auth) throw unauthorized('A bearer token is required', 'Bearer realm="county-hie"');
  if (!auth.institution) {
    throw forbidden(
      'Only a member institution submits records: use a token issued to the institution (POST /auth/token)',
    );
  }
  if (!auth.scopes.some((s) => s.context === 'system' && s.letters.has('c'))) {
    throw forbidden('Submitting records needs a system/…c scope (SMART Backend Services)');
  }
  const institution = await registry.get(auth.institution);
  if (!institution?.active)
    throw forbidden(`Institution ${auth.institution} is not an active member of the exchange`);
  return institution;
}

/** Who may see which archived messages (CONTRACTS: institutions see only their own). */
export interface MessageViewer {
  admin: boolean;
  /** The institution the viewer belongs to; undefined for admins without one. */
  institution?: string;
  /** Raw text is shown to administrators and to the sending system itself. */
  mayReadRaw(institution: string): boolean;
}

export function messageViewer(res: Response): MessageViewer {
  const auth = res.locals.auth as AuthContext | undefined;
  if (!auth) throw unauthorized('A bearer token is required', 'Bearer realm="county-hie"');
  const admin = auth.roles.has('admin');
  if (!admin && !auth.institution)
    throw forbidden('Inbound messages are visible to administrators and to member institutions');
  const isSystemClient = auth.subject === auth.institution;
  return {
    admin,
    institution: auth.institution,
    mayReadRaw: (institution) => admin || (isSystemClient && institution === auth.institution),
  };
}
