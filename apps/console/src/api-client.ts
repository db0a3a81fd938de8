/** Exit codes (DESIGN §8): 0 success, 1 refused or failed, 2 usage error, 3 API unreachable. */
export const EXIT = { OK: 0, REFUSED: 1, USAGE: 2, UNREACHABLE: 3 } as const;

export interface ApiErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** The API answered with an error: exit 2 for a request it found invalid (400), 1 otherwise. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.message);
  }
  get exitCode(): number {
    return this.status === 400 ? EXIT.USAGE : EXIT.REFUSED;
  }
}

export class ApiUnreachable extends Error {}

/** Calls the gateway's HTTP API with GARDE_API_URL and GARDE_TOKEN. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
    private readonly timeoutMs = 15_000,
  ) {}

  /** `timeoutMs`: how long to wait for the answer, for a request known to be slow (15 s unless said). */
  async call<T>(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
      throw new ApiUnreachable(`cannot reach the Garde API at ${this.baseUrl} (${cause}); is the platform running? set GARDE_API_URL`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      throw new ApiUnreachable(`${this.baseUrl} answered ${res.status} with something that is not the Garde API`);
    }
    if (!res.ok) {
      const error = (json as { error?: ApiErrorBody }).error ?? { code: 'INTERNAL', message: `HTTP ${res.status}` };
      throw new ApiError(res.status, error);
    }
    return json as T;
  }
}
