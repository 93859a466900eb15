import { badRequest, unprocessable } from '../../kernel/outcomes.ts';

/**
 * JSON Patch (RFC 6902) applied to a copy of a resource. Small and exact enough to write here:
 * six operations on JSON Pointers (RFC 6901). A failing `test` or a path that does not exist is
 * a 422, as FHIR asks for a patch that cannot be applied.
 */
export interface PatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

export function applyJsonPatch(target: Record<string, unknown>, ops: unknown): Record<string, unknown> {
  if (!Array.isArray(ops))
    throw badRequest('A JSON Patch body must be an array of operations', undefined, 'HIE-PATCH-001');
  let doc: unknown = structuredClone(target);
  ops.forEach((raw, i) => {
    const op = checkOperation(raw, i);
    doc = applyOne(doc, op, i);
  });
  return doc as Record<string, unknown>;
}

function checkOperation(raw: unknown, i: number): PatchOperation {
  const op = raw as PatchOperation;
  const valid = ['add', 'remove', 'replace', 'move', 'copy', 'test'];
  if (!op || typeof op !== 'object' || !valid.includes(op.op) || typeof op.path !== 'string') {
    throw badRequest(
      `Patch operation ${i} needs "op" (one of ${valid.join(', ')}) and "path"`,
      undefined,
      'HIE-PATCH-002',
    );
  }
  if ((op.op === 'move' || op.op === 'copy') && typeof op.from !== 'string') {
    throw badRequest(`Patch operation ${i} (${op.op}) needs "from"`, undefined, 'HIE-PATCH-002');
  }
  if (['add', 'replace', 'test'].includes(op.op) && !('value' in op)) {
    throw badRequest(`Patch operation ${i} (${op.op}) needs "value"`, undefined, 'HIE-PATCH-002');
  }
  return op;
}

function pointer(path: string, i: number): string[] {
  if (path === '') return [];
  if (!path.startsWith('/'))
    throw badRequest(`Patch operation ${i}: "${path}" is not a JSON Pointer`, undefined, 'HIE-PATCH-003');
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: unknown, tokens: string[], i: number): { parent: any; key: string } {
  let node: any = doc;
  for (const t of tokens.slice(0, -1)) {
    if (node === null || typeof node !== 'object' || !(t in node)) {
      throw unprocessable(
        `Patch operation ${i}: path /${tokens.join('/')} does not exist`,
        undefined,
        'HIE-PATCH-004',
      );
    }
    node = node[t];
  }
  if (node === null || typeof node !== 'object') {
    throw unprocessable(
      `Patch operation ${i}: path /${tokens.join('/')} does not exist`,
      undefined,
      'HIE-PATCH-004',
    );
  }
  return { parent: node, key: tokens[tokens.length - 1]! };
}

function get(doc: unknown, path: string, i: number): unknown {
  const tokens = pointer(path, i);
  if (tokens.length === 0) return doc;
  const { parent, key } = parentOf(doc, tokens, i);
  if (!(key in parent))
    throw unprocessable(`Patch operation ${i}: path ${path} does not exist`, undefined, 'HIE-PATCH-004');
  return parent[key];
}

function remove(doc: unknown, path: string, i: number): unknown {
  const { parent, key } = parentOf(doc, pointer(path, i), i);
  if (!(key in parent))
    throw unprocessable(`Patch operation ${i}: path ${path} does not exist`, undefined, 'HIE-PATCH-004');
  const value = parent[key];
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[key];
  return value;
}

function add(doc: unknown, path: string, value: unknown, i: number, replace: boolean): unknown {
  const tokens = pointer(path, i);
  if (tokens.length === 0) return structuredClone(value);
  const { parent, key } = parentOf(doc, tokens, i);
  if (Array.isArray(parent)) {
    const index = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(index) || index < 0 || index > parent.length - (replace ? 1 : 0)) {
      throw unprocessable(
        `Patch operation ${i}: index ${key} is out of range at ${path}`,
        undefined,
        'HIE-PATCH-004',
      );
    }
    parent.splice(index, replace ? 1 : 0, structuredClone(value));
  } else {
    if (replace && !(key in parent)) {
      throw unprocessable(`Patch operation ${i}: path ${path} does not exist`, undefined, 'HIE-PATCH-004');
    }
    parent[key] = structuredClone(value);
  }
  return doc;
}

function applyOne(doc: unknown, op: PatchOperation, i: number): unknown {
  switch (op.op) {
    case 'add':
      return add(doc, op.path, op.value, i, false);
    case 'replace':
      return add(doc, op.path, op.value, i, true);
    case 'remove':
      remove(doc, op.path, i);
      return doc;
    case 'move':
      return add(doc, op.path, remove(doc, op.from!, i), i, false);
    case 'copy':
      return add(doc, op.path, get(doc, op.from!, i), i, false);
    case 'test':
      if (JSON.stringify(get(doc, op.path, i)) !== JSON.stringify(op.value)) {
        throw unprocessable(`Patch operation ${i}: test failed at ${op.path}`, undefined, 'HIE-PATCH-005');
      }
      return doc;
  }
}
