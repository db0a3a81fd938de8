/** What a checkpoint's signature covers (with the kind `garde-audit-checkpoint-v1`): everything but the key and signature. */
export function checkpointStatement(cp: { sequence: number; head: string; signedAt: Date; keyId: string }): Record<string, unknown> {
  return { sequence: cp.sequence, head: cp.head, signedAt: cp.signedAt.toISOString(), keyId: cp.keyId };
}
