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
    const res = await this.send(method, path, body, AbortSignal.timeout(timeoutMs));
    return (await this.json(res)) as T;
  }

  /**
   * A body that is not JSON (an export file), as it arrives: read it to the end, it is never held whole.
   * Fails if nothing arrives for `idleMs`; an answer cut short by the server fails the iteration.
   */
  async *download(path: string, idleMs = 60_000): AsyncGenerator<Uint8Array> {
    const idle = new AbortController();
    let timer = setTimeout(() => idle.abort(new Error(`nothing received for ${idleMs / 1000} s`)), idleMs);
    try {
      const res = await this.send('GET', path, undefined, idle.signal);
      if (!res.ok) await this.json(res);
      if (!res.body) return;
      for await (const chunk of res.body) {
        clearTimeout(timer);
        timer = setTimeout(() => idle.abort(new Error(`nothing received for ${idleMs / 1000} s`)), idleMs);
        yield chunk;
      }
    } catch (err) {
      if (err instanceof ApiError || err instanceof ApiUnreachable) throw err;
      const cause = idle.signal.aborted ? String(idle.signal.reason) : err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
      throw new ApiUnreachable(`the download from ${this.baseUrl}${path.split('?')[0]} was cut short (${cause})`);
    } finally {
      clearTimeout(timer);
      idle.abort(); // a download left before its end frees its connection
    }
  }

  private async send(method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal): Promise<Response> {
    try {
      return await fetch(new URL(path, this.baseUrl), {
        method,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal,
      });
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
      throw new ApiUnreachable(`cannot reach the Garde API at ${this.baseUrl} (${cause}); is the platform running? set GARDE_API_URL`);
    }
  }

  /** The JSON answer; an error answer thrown as ApiError. */
  private async json(res: Response): Promise<unknown> {
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
    return json;
  }
}
