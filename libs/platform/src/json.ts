const decoder = new TextDecoder();

/** The JSON in a message's bytes, or undefined when they are not JSON. */
export function safeJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
}
