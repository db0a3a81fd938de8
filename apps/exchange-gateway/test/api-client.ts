import { sha256Hex } from '../src/auth/token-authenticator.js';

/** One bearer token per role for the gateway's tests; each token's actor is `<role>-person`. */
export const TEST_TOKENS = {
  viewer: 'test-viewer-token-0001',
  operator: 'test-operator-token-01',
  risk: 'test-risk-token-000001',
  admin: 'test-admin-token-00001',
} as const;
export type TestRole = keyof typeof TEST_TOKENS;

/** GARDE_API_TOKENS for TEST_TOKENS. */
export const TEST_API_TOKENS = Object.entries(TEST_TOKENS)
  .map(([role, token]) => `${role}-person:${role}:${sha256Hex(token)}`)
  .join(',');

export interface ApiReply {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string; details?: Record<string, unknown> } };
}

/** Calls the gateway's HTTP API as a role (or with no token). */
export function apiClient(baseUrl: () => string) {
  return async (role: TestRole | undefined, method: string, path: string, body?: unknown): Promise<ApiReply> => {
    const res = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(role ? { authorization: `Bearer ${TEST_TOKENS[role]}` } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as ApiReply['body'] };
  };
}
